import ArgumentParser
import CollapseLab
import RankKernels

// The closed sets the options take, parsed by ArgumentParser: a value outside
// the set is refused in one line that lists the valid ones.

extension RankMethod: ExpressibleByArgument {}
extension WeightDistribution: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension NormKind: ExpressibleByArgument {}
extension NormPosition: ExpressibleByArgument {}
extension PositionEncoding: ExpressibleByArgument {}
extension BackendKind: ExpressibleByArgument {}

extension InputKind: ExpressibleByArgument {
  /// `text` and `token-ids` are set by `--text` and `--token-ids`, not named.
  public static var allValueStrings: [String] {
    allCases.filter { $0 != .text && $0 != .tokenIDs }.map(\.rawValue)
  }
}

/// `--engine`: the engines that run random models (`measure` is its own subcommand).
enum RandomModelEngine: String, CaseIterable, ExpressibleByArgument {
  case gram, sketch, dense
  var kind: EngineKind { EngineKind(rawValue: rawValue)! }
}

/// `--mlp`: the feed-forward nonlinearity, named as on the command line
/// (config.json calls the tanh GELU `gelu_new`).
enum MLPActivationArgument: String, CaseIterable, ExpressibleByArgument {
  case gelu
  case geluTanh = "gelu-tanh"
  case relu, swiglu

  var activation: FeedForwardActivation {
    switch self {
    case .gelu: .gelu
    case .geluTanh: .geluTanh
    case .relu: .relu
    case .swiglu: .swiglu
    }
  }
}

/// `--final-norm`: the norm after the last block, or none.
enum FinalNormArgument: String, CaseIterable, ExpressibleByArgument {
  case none, layer, rms

  var kind: NormKind? {
    switch self {
    case .none: nil
    case .layer: .layer
    case .rms: .rms
    }
  }
}

extension ConfigurationSetting {
  /// The option that sets this setting on mc-generic's command line.
  var flag: String {
    switch self {
    case .layers: "--layers"
    case .modelDimension: "--d-model"
    case .heads: "--heads"
    case .feedForwardDimension: "--d-ff"
    case .sequenceLength: "--seq-len"
    case .weightScale: "--sigma"
    case .layerNormEpsilon: "--ln-eps"
    case .inputRank: "--input-rank"
    case .input: "--input"
    case .checkpoint: "--model"
    case .perturbation: "--perturb"
    case .variants: "--variants"
    case .rankToleranceFactor: "--rank-tolerance"
    case .keyValueHeads: "--kv-heads"
    case .mask: "--mask"
    case .rotaryFraction: "--rope-fraction"
    case .ropeTheta: "--rope-theta"
    case .sharedLayerGroups: "--shared-layers"
    case .embeddingSize: "--embedding-size"
    case .randomBiases: "--random-biases"
    case .biases: "--biases"
    case .architecture: "--architecture"
    case .shard: "--shard"
    case .resume: "--resume"
    case .output: "--output"
    case .text: "--text"
    case .tokenIDs: "--token-ids"
    }
  }
}
