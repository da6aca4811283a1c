import RankKernels

/// The dense forward pass of a trained BERT checkpoint (HF `BertModel` in
/// eval mode, Float32): X₀ from the checkpoint's embedding layer, then every
/// variant (Dong et al.'s surgeries) on the checkpoint's weights, biases and
/// LayerNorm parameters; states 0…L, the embedding output first.
///
/// With `configuration.checkpoint.perturbation` = ε > 0, sample s replaces
/// every tensor T by T + ε·rms(T)·G, G iid N(0, 1) from the Philox stream of
/// (seed, s, tensor) at T's stored (row-major, [out, in]) positions, so the
/// noise does not depend on how the weights are held here. ε = 0 is the
/// checkpoint itself and every sample shares its weights.
///
/// Single-threaded inside a sample (parallelism is over samples).
public struct CheckpointEngine: ForwardEngine {
  public let checkpoint: BertCheckpoint
  public let input: TokenInput
  public var kind: EngineKind { .dense }

  public init(checkpoint: BertCheckpoint, input: TokenInput) {
    self.checkpoint = checkpoint
    self.input = input
  }

  /// The token ids sample `sample` runs on.
  public func tokens(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Int32] {
    input.tokens(sample: sample, sequenceLength: c.sequenceLength, tokenizer: checkpoint.tokenizer, seed: seed)
  }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let (noise, x0) = start(sample: sample, configuration: c, seed: seed)
    return runEncoder(sample: sample, configuration: c, seed: seed, projectorUsesGram: false, input: x0) { layer in
      let weights = layerWeights(layer - 1, noise: noise)
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }

  /// The hidden states 0…L (n × d each, the embedding output first) of every
  /// variant, without the metrics: `result[v][l]`, as HF's
  /// `output_hidden_states` gives them for the unmodified model.
  public func hiddenStates(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[[Float]]] {
    let (noise, x0) = start(sample: sample, configuration: c, seed: seed)
    var states = c.variants.map { _ in [x0] }
    for layer in 0..<c.layers {
      let weights = layerWeights(layer, noise: noise)
      for (v, variant) in c.variants.enumerated() {
        var x = states[v][layer]
        _ = encoderLayer(variant, state: &x, weights: weights, projector: DenseProjector(weights: weights), configuration: c)
        states[v].append(x)
      }
    }
    return states
  }

  /// Floating-point operations of one sample's forward pass (all variants,
  /// multiply and add counted separately; LayerNorm, softmax and the
  /// activation not counted): per layer 8nd² for Q, K, V and W_O, 4n²d for
  /// the scores and A·V, and 4n·d·d_ff for a feed-forward sublayer.
  public static func forwardFLOPs(configuration c: ModelConfiguration) -> Double {
    let n = Double(c.sequenceLength), d = Double(c.modelDimension), f = Double(c.feedForwardDimension)
    let attention = 8 * n * d * d + 4 * n * n * d, feedForward = 4 * n * d * f
    return Double(c.layers) * c.variants.reduce(0) { $0 + attention + ($1.mlp ? feedForward : 0) }
  }

  /// The sample's perturbation (nil at ε = 0) and its X₀.
  private func start(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> (ParameterNoise?, [Float]) {
    let perturbation = c.checkpoint?.perturbation ?? 0
    let noise = perturbation > 0 ? ParameterNoise(sample: sample, seed: seed, size: perturbation, parameters: checkpoint.parameters) : nil
    let x0 = embedTokens(tokens(sample: sample, configuration: c, seed: seed), embeddings: checkpoint.parameters.embeddings, noise: noise, configuration: c)
    return (noise, x0)
  }

  /// Layer `layer`'s (0-based) weights, perturbed by `noise` if given.
  private func layerWeights(_ layer: Int, noise: ParameterNoise?) -> LayerWeights {
    var parameters = checkpoint.parameters.layers[layer]
    if let noise { noise.perturb(&parameters, layer: layer, configuration: checkpoint.parameters.configuration) }
    return parameters.layerWeights()
  }
}

/// LN(word[ids] + position[0…n−1] + tokenType[0]) with the embedding
/// LayerNorm's parameters and eps (n × d), perturbed by `noise` if given.
func embedTokens(_ ids: [Int32], embeddings e: BertEmbeddingParameters, noise: ParameterNoise?, configuration c: ModelConfiguration) -> [Float] {
  let n = ids.count, d = c.modelDimension
  var typeRow = Array(e.tokenType[0..<d]), gamma = e.normGamma, beta = e.normBeta
  if let noise {
    noise.perturbRows(&typeRow, tensor: BertTensor.embedding(.tokenType), firstRow: 0, columns: d)
    noise.perturbRows(&gamma, tensor: .embedding(.normWeight), firstRow: 0, columns: d)
    noise.perturbRows(&beta, tensor: .embedding(.normBias), firstRow: 0, columns: d)
  }
  var x = [Float](repeating: 0, count: n * d)
  var wordRow = [Float](repeating: 0, count: d), positionRow = wordRow
  for i in 0..<n {
    let id = Int(ids[i])
    wordRow.replaceSubrange(0..<d, with: e.word[(id * d)..<((id + 1) * d)])
    positionRow.replaceSubrange(0..<d, with: e.position[(i * d)..<((i + 1) * d)])
    if let noise {
      noise.perturbRows(&wordRow, tensor: .embedding(.word), firstRow: id, columns: d)
      noise.perturbRows(&positionRow, tensor: .embedding(.position), firstRow: i, columns: d)
    }
    // HF adds word + token type first, then position.
    for j in 0..<d { x[i * d + j] = (wordRow[j] + typeRow[j]) + positionRow[j] }
  }
  applyLayerNorm(&x, rows: n, columns: d, gamma: gamma, beta: beta, eps: c.layerNormEpsilon)
  return x
}

extension ParameterNoise {
  /// The noise of a BERT checkpoint, whose rms values are indexed by `BertTensor.index`.
  init(sample: UInt64, seed: UInt64, size: Double, parameters: BertParameters) {
    let rootMeanSquares = parameters.rootMeanSquares
    self.init(sample: sample, seed: seed, size: size) { rootMeanSquares[$0] }
  }

  /// Perturbs every tensor of layer `layer` (0-based) in place.
  func perturb(_ p: inout BertLayerParameters, layer: Int, configuration c: BertConfiguration) {
    for t in BertLayerTensor.allCases {
      let tensor = BertTensor.layer(layer, t)
      if t.isMatrix {
        // Stored [out, in] at position o·in + i; held transposed at i·out + o.
        let shape = tensor.storedShape(c), rows = shape[0], columns = shape[1]
        let s = scale(index: tensor.index)
        var g = [Float](repeating: 0, count: rows * columns)
        g.withUnsafeMutableBufferPointer { stream(index: tensor.index).fillNormal($0.baseAddress!, count: $0.count) }
        p[keyPath: t.keyPath].withUnsafeMutableBufferPointer { w in
          g.withUnsafeBufferPointer { noise in
            for o in 0..<rows { for i in 0..<columns { w[i * rows + o] += s * noise[o * columns + i] } }
          }
        }
      } else {
        perturbRows(&p[keyPath: t.keyPath], tensor: tensor, firstRow: 0, columns: p[keyPath: t.keyPath].count)
      }
    }
  }
}
