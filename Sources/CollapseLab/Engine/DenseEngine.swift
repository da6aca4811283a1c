import RankKernels

/// The reference engine: materialises every weight matrix of every layer and
/// runs the forward pass with dense products.
///
/// All variants of one sample share the same input and the same weights
/// (paired comparison: differences between variants are not sampling noise).
/// Kernels run single-threaded: parallelism is over samples.
public struct DenseEngine: ForwardEngine {
  public init() {}
  public var name: String { "dense" }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let needsMLP = c.variants.contains { $0.mlp }
    let weights = LayerWeights(modelDimension: c.modelDimension, feedForwardDimension: needsMLP ? c.feedForwardDimension : 0)
    return runEncoder(sample: sample, configuration: c, seed: seed) { layer in
      weights.draw(sample: sample, layer: layer, configuration: c, seed: seed, includeMatrices: true, includeMLP: needsMLP)
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }
}

/// Multiplies a layer's activations by one of its weight matrices.
protocol WeightProjector {
  /// Y (rows × inner) · W_purpose (inner × columns).
  func project(_ y: [Float], rows: Int, columns: Int, purpose: StreamPurpose) -> [Float]
}

/// The dense engine's projector: the drawn matrices themselves.
struct DenseProjector: WeightProjector {
  let weights: LayerWeights
  func project(_ y: [Float], rows: Int, columns: Int, purpose: StreamPurpose) -> [Float] {
    let matrix: [Float]
    switch purpose {
    case .query: matrix = weights.query
    case .key: matrix = weights.key
    case .value: matrix = weights.value
    case .output: matrix = weights.output
    case .feedForwardIn: matrix = weights.feedForwardIn
    case .feedForwardOut: matrix = weights.feedForwardOut
    default: preconditionFailure("no weight matrix for \(purpose)")
    }
    return CollapseLab.project(y, rows: rows, matrix, columns: columns)
  }
}

/// Runs the input and every layer for every variant. `prepareLayer(layer)`
/// returns the layer's vector parameters and, per variant index, the projector.
func runEncoder(
  sample: UInt64, configuration c: ModelConfiguration, seed: UInt64,
  prepareLayer: (Int) -> (LayerWeights, (Int) -> any WeightProjector)
) -> [[MetricValues]] {
  let n = c.sequenceLength, d = c.modelDimension
  let input = sampleInput(sample: sample, configuration: c, seed: seed)
  let inputMetrics = input.withUnsafeBufferPointer {
    measure($0.baseAddress!, rows: n, columns: d, attentionEntropy: .nan, rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod)
  }
  var results = c.variants.map { _ in [inputMetrics] }
  var states = c.variants.map { _ in input }
  for layer in stride(from: 1, through: c.layers, by: 1) {
    let (weights, projectorFor) = prepareLayer(layer)
    for (v, variant) in c.variants.enumerated() {
      let entropy = encoderLayer(variant, state: &states[v], weights: weights, projector: projectorFor(v), configuration: c)
      let metrics = states[v].withUnsafeBufferPointer {
        measure($0.baseAddress!, rows: n, columns: d, attentionEntropy: entropy, rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod)
      }
      results[v].append(metrics)
    }
  }
  return results
}

/// One encoder layer in place; returns the mean attention-row entropy.
func encoderLayer(
  _ variant: Variant, state x: inout [Float], weights w: LayerWeights, projector: any WeightProjector,
  configuration c: ModelConfiguration
) -> Double {
  let n = c.sequenceLength, d = c.modelDimension, dff = c.feedForwardDimension
  let eps = c.layerNormEpsilon
  func addBias(_ y: inout [Float], _ bias: [Float]?, columns: Int) {
    guard let bias else { return }
    for i in 0..<n { for j in 0..<columns { y[i * columns + j] += bias[j] } }
  }
  var attentionInput = x
  if variant.preLayerNorm {
    applyLayerNorm(&attentionInput, rows: n, columns: d, gamma: w.gamma1, beta: w.beta1, eps: eps)
  }
  var q = projector.project(attentionInput, rows: n, columns: d, purpose: .query)
  var k = projector.project(attentionInput, rows: n, columns: d, purpose: .key)
  var v = projector.project(attentionInput, rows: n, columns: d, purpose: .value)
  addBias(&q, w.biasQuery, columns: d); addBias(&k, w.biasKey, columns: d); addBias(&v, w.biasValue, columns: d)
  var attended = [Float](repeating: 0, count: n * d)
  var entropies = [Float](repeating: 0, count: c.heads * n)
  attended.withUnsafeMutableBufferPointer { out in
    entropies.withUnsafeMutableBufferPointer { e in
      multiHeadAttention(
        shape: AttentionShape(batch: 1, sequenceLength: n, heads: c.heads, headDimension: c.headDimension),
        query: q, key: k, value: v, output: out.baseAddress!, rowEntropy: e.baseAddress!, threads: 1)
    }
  }
  var sublayer = projector.project(attended, rows: n, columns: d, purpose: .output)
  addBias(&sublayer, w.biasOutput, columns: d)
  var h = variant.residual ? zip(x, sublayer).map { $0 + $1 } : sublayer
  if variant.postLayerNorm { applyLayerNorm(&h, rows: n, columns: d, gamma: w.gamma1, beta: w.beta1, eps: eps) }
  if variant.mlp {
    var mlpInput = h
    if variant.preLayerNorm { applyLayerNorm(&mlpInput, rows: n, columns: d, gamma: w.gamma2, beta: w.beta2, eps: eps) }
    var hidden = projector.project(mlpInput, rows: n, columns: dff, purpose: .feedForwardIn)
    addBias(&hidden, w.biasFeedForwardIn, columns: dff)
    hidden.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: n * dff, output: $0.baseAddress!) }
    var feedForward = projector.project(hidden, rows: n, columns: d, purpose: .feedForwardOut)
    addBias(&feedForward, w.biasFeedForwardOut, columns: d)
    h = variant.residual ? zip(h, feedForward).map { $0 + $1 } : feedForward
    if variant.postLayerNorm { applyLayerNorm(&h, rows: n, columns: d, gamma: w.gamma2, beta: w.beta2, eps: eps) }
  }
  x = h
  return entropies.reduce(0.0) { $0 + Double($1) } / Double(entropies.count)
}

/// X (rows × inner) · W (inner × columns), single-threaded.
func project(_ x: [Float], rows: Int, _ w: [Float], columns: Int) -> [Float] {
  let inner = x.count / rows
  var y = [Float](repeating: 0, count: rows * columns)
  y.withUnsafeMutableBufferPointer { out in
    sgemm(m: rows, n: columns, k: inner, a: x, lda: inner, b: w, ldb: columns, c: out.baseAddress!, ldc: columns, threads: 1)
  }
  return y
}

func applyLayerNorm(_ x: inout [Float], rows: Int, columns: Int, gamma: [Float]?, beta: [Float]?, eps: Float) {
  x.withUnsafeMutableBufferPointer { buffer in
    layerNorm(rows: rows, columns: columns, input: buffer.baseAddress!, gamma: gamma, beta: beta, eps: eps, output: buffer.baseAddress!)
  }
}

/// One layer's parameters, redrawn in place for each (sample, layer).
final class LayerWeights {
  var query, key, value, output: [Float]
  var feedForwardIn, feedForwardOut: [Float]
  var biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardIn, biasFeedForwardOut: [Float]?
  var gamma1, beta1, gamma2, beta2: [Float]?

  init(modelDimension d: Int, feedForwardDimension dff: Int) {
    query = [Float](repeating: 0, count: d * d); key = query; value = query; output = query
    feedForwardIn = [Float](repeating: 0, count: d * dff); feedForwardOut = feedForwardIn
  }

  /// Draws the layer's parameters; the weight matrices only if
  /// `includeMatrices` (the sketch engine never materialises them).
  func draw(sample: UInt64, layer: Int, configuration c: ModelConfiguration, seed: UInt64, includeMatrices: Bool, includeMLP: Bool) {
    func fill(_ matrix: inout [Float], _ purpose: StreamPurpose) {
      drawWeights(&matrix, stream: RandomStream(seed: seed, stream: streamID(sample: sample, layer: layer, purpose)), configuration: c)
    }
    if includeMatrices {
      fill(&query, .query); fill(&key, .key); fill(&value, .value); fill(&output, .output)
      if includeMLP { fill(&feedForwardIn, .feedForwardIn); fill(&feedForwardOut, .feedForwardOut) }
    }
    let d = c.modelDimension, dff = c.feedForwardDimension
    if c.randomBiases {
      var all = [Float](repeating: 0, count: 5 * d + dff)
      all.withUnsafeMutableBufferPointer {
        RandomStream(seed: seed, stream: streamID(sample: sample, layer: layer, .biases))
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      biasQuery = Array(all[0..<d]); biasKey = Array(all[d..<(2 * d)]); biasValue = Array(all[(2 * d)..<(3 * d)])
      biasOutput = Array(all[(3 * d)..<(4 * d)]); biasFeedForwardOut = Array(all[(4 * d)..<(5 * d)])
      biasFeedForwardIn = Array(all[(5 * d)...])
    }
    if c.randomLayerNormAffine {
      var all = [Float](repeating: 0, count: 4 * d)
      all.withUnsafeMutableBufferPointer {
        RandomStream(seed: seed, stream: streamID(sample: sample, layer: layer, .layerNormAffine))
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      gamma1 = all[0..<d].map { 1 + $0 }; beta1 = Array(all[d..<(2 * d)])
      gamma2 = all[(2 * d)..<(3 * d)].map { 1 + $0 }; beta2 = Array(all[(3 * d)...])
    }
  }
}

/// Fills a weight matrix with iid entries of the configured distribution.
func drawWeights(_ matrix: inout [Float], stream: RandomStream, configuration c: ModelConfiguration) {
  matrix.withUnsafeMutableBufferPointer { buffer in
    switch c.weightDistribution {
    case .gaussian:
      stream.fillNormal(buffer.baseAddress!, count: buffer.count, standardDeviation: c.weightScale)
    case .uniform:
      stream.fillUniform(buffer.baseAddress!, count: buffer.count)
      let halfWidth = c.weightScale * 3.0.squareRoot().float
      for i in buffer.indices { buffer[i] = (2 * buffer[i] - 1) * halfWidth }
    }
  }
}

extension Double { var float: Float { Float(self) } }

/// The input token matrix X₀ (n × d) of a sample.
func sampleInput(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Float] {
  let n = c.sequenceLength, d = c.modelDimension
  func normals(_ count: Int, _ purpose: StreamPurpose, _ std: Float) -> [Float] {
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBufferPointer {
      RandomStream(seed: seed, stream: streamID(sample: sample, layer: 0, purpose))
        .fillNormal($0.baseAddress!, count: count, standardDeviation: std)
    }
    return values
  }
  if let r = c.inputRank {
    // Exactly rank r: G₁ (n×r) · G₂ (r×d) / √r, entries of unit variance.
    let left = normals(n * r, .input, 1), right = normals(r * d, .inputAuxiliary, 1 / Float(r).squareRoot())
    return project(left, rows: n, right, columns: d)
  }
  switch c.input {
  case .gaussian:
    return normals(n * d, .input, 1)
  case .bertEmbeddings:
    let words = normals(n * d, .input, 0.02), positions = normals(n * d, .inputAuxiliary, 0.02)
    let tokenType = normals(d, .inputShared, 0.02)
    var x = [Float](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { x[i * d + j] = words[i * d + j] + positions[i * d + j] + tokenType[j] } }
    applyLayerNorm(&x, rows: n, columns: d, gamma: nil, beta: nil, eps: 1e-12)
    return x
  }
}
