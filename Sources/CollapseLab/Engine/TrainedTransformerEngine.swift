import RankKernels

/// The dense forward pass of a trained `TrainedTransformer` (GPT-2, Llama,
/// GPT-NeoX, ALBERT; from safetensors or GGUF): X₀ the embedding layer's
/// output for the sample's token ids at positions 0…n−1, then every variant
/// (Dong's surgeries at the model's norm position) on the trained weights;
/// states 0…L, the last after the final norm for pre/parallel variants (HF's
/// last hidden state).
///
/// With `configuration.checkpoint.perturbation` = ε > 0, sample s replaces
/// every held tensor by T + ε·rms(T)·G (see `ParameterNoise`); ε = 0 is the
/// checkpoint itself and every sample shares its weights.
///
/// Single-threaded inside a sample (parallelism is over samples).
public struct TrainedTransformerEngine: ForwardEngine {
  public let checkpoint: TrainedTransformer
  public let input: DecoderTokenInput
  public var kind: EngineKind { .dense }

  public init(checkpoint: TrainedTransformer, input: DecoderTokenInput) {
    self.checkpoint = checkpoint
    self.input = input
  }

  /// The token ids sample `sample` runs on.
  public func tokens(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Int32] {
    switch input {
    case .windows(let windows): windows[Int(sample % UInt64(windows.count))]
    case .randomTokens(let candidates): distinctRandomTokens(count: c.sequenceLength, from: candidates, sample: sample, seed: seed)
    }
  }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let noise = self.noise(sample: sample, configuration: c, seed: seed)
    let x0 = checkpoint.embed(tokens(sample: sample, configuration: c, seed: seed), noise: noise)
    var held: (group: Int, weights: LayerWeights)?
    return runEncoder(
      sample: sample, configuration: c, seed: seed, projectorUsesGram: false, input: x0,
      finalNorm: checkpoint.finalNormParameters(noise: noise)
    ) { layer in
      let group = c.block.weightGroup(ofLayer: layer, layers: c.layers)
      // Shared layers (ALBERT) perturb their group once per sample.
      if held?.group != group { held = (group, checkpoint.layer(group, noise: noise)) }
      let weights = held!.weights
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }

  /// The hidden states 0…L (n × d each) of every variant, without the
  /// metrics: `result[v][l]`, the last after the final norm where the
  /// variant has one, as HF's `output_hidden_states` gives them.
  public func hiddenStates(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[[Float]]] {
    let noise = self.noise(sample: sample, configuration: c, seed: seed)
    let x0 = checkpoint.embed(tokens(sample: sample, configuration: c, seed: seed), noise: noise)
    var states = c.variants.map { _ in [x0] }
    for layer in 1...c.layers {
      let weights = checkpoint.layer(c.block.weightGroup(ofLayer: layer, layers: c.layers), noise: noise)
      for (v, variant) in c.variants.enumerated() {
        var x = states[v][layer - 1]
        _ = encoderLayer(variant, state: &x, weights: weights, projector: DenseProjector(weights: weights), configuration: c)
        if layer == c.layers, let kind = c.block.finalNorm, let (gamma, beta) = checkpoint.finalNormParameters(noise: noise),
          variant.preLayerNorm || variant.parallelLayerNorm
        {
          applyNorm(kind, &x, rows: c.sequenceLength, columns: c.modelDimension, gamma: gamma, beta: beta, eps: c.layerNormEpsilon)
        }
        states[v].append(x)
      }
    }
    return states
  }

  private func noise(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> ParameterNoise? {
    let size = c.checkpoint?.perturbation ?? 0
    return size > 0 ? ParameterNoise(sample: sample, seed: seed, size: size, rootMeanSquares: checkpoint.rootMeanSquares) : nil
  }
}

/// A trained model's inputs: given windows of ids (`--token-ids FILE`, or a
/// text's windows), sample i using window i mod W; or n distinct ids drawn per
/// sample from the ordinary (non-special) vocabulary.
public enum DecoderTokenInput: Sendable {
  case windows([[Int32]])
  case randomTokens(candidates: [Int32])
}
