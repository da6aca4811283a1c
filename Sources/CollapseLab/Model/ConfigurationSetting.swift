/// A setting of a run's configuration that an error can name.
///
/// The library names a setting by its property (``name``); a front end names
/// it as its users set it: `mc-generic` renders ``modelDimension`` as
/// `--d-model` (``SettingMessage/rendered(naming:)``).
public enum ConfigurationSetting: String, CaseIterable, Sendable {
  case layers, modelDimension, heads, feedForwardDimension, sequenceLength
  case weightScale, layerNormEpsilon, inputRank, input, checkpoint, perturbation
  case variants, rankToleranceFactor, keyValueHeads, mask, rotaryFraction, ropeTheta
  case sharedLayerGroups, embeddingSize, randomBiases, biases, architecture
  case shard, resume, output, text, tokenIDs

  /// The property's name, as the library's own messages use it.
  public var name: String { rawValue }
}
