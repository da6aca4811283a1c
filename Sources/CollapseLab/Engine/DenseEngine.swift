import Foundation
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
    return runEncoder(sample: sample, configuration: c, seed: seed, projectorUsesGram: false) { layer in
      weights.draw(sample: sample, layer: layer, configuration: c, seed: seed, includeMatrices: true, includeMLP: needsMLP)
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }
}

/// Multiplies a layer's activations by its weight matrices.
///
/// `prepare` is called once per activation matrix Y and `project` once per
/// weight matrix applied to it, so work that depends only on Y (the sketch
/// engine's factor of Y·Yᵀ) is shared by the query, key and value products.
protocol WeightProjector {
  /// `gram`: Y·Yᵀ in Float64, when the caller already has it.
  func prepare(_ y: [Float], rows: Int, gram: [Double]?) -> ProjectionOperand
  /// Y (rows × inner) · W_purpose (inner × columns).
  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose) -> [Float]
  /// The attention sublayer before the output bias, concat_h(g_h ⊙ softmax(Q_h·K_hᵀ/√d_k)·V_h)·W_O
  /// with Q = Y·W_Q + b_Q etc., and the mean attention-row entropy. `gates`
  /// (n × H, PG-OP) scale head h's output at token i by gates[i·H + h]; nil: no gates.
  func attentionSublayer(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration: ModelConfiguration
  ) -> (output: [Float], meanEntropy: Double)
}

extension WeightProjector {
  func attentionSublayer(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration: ModelConfiguration
  ) -> (output: [Float], meanEntropy: Double) {
    standardAttentionSublayer(operand, projector: self, gates: gates, weights: weights, configuration: configuration)
  }

  /// PG-OP's gates sigmoid(Y·W_gate + b_gate), n × H.
  func positionGates(_ operand: ProjectionOperand, weights: LayerWeights, configuration c: ModelConfiguration) -> [Float] {
    var logits = project(operand, columns: c.heads, purpose: .gates)
    addBias(&logits, weights.biasGate, rows: operand.rows, columns: c.heads)
    return logits.map { 1 / (1 + exp(-$0)) }
  }
}

/// Scales head h's block (columns h·headWidth ..< (h+1)·headWidth) of row i
/// of `heads` (rows × H·headWidth) by gates[i·H + h].
func applyHeadGates(_ heads: inout [Float], gates: [Float], rows: Int, headCount: Int, headWidth: Int) {
  precondition(gates.count == rows * headCount && heads.count == rows * headCount * headWidth)
  heads.withUnsafeMutableBufferPointer { target in
    for i in 0..<rows {
      for h in 0..<headCount {
        let g = gates[i * headCount + h], start = (i * headCount + h) * headWidth
        for j in start..<(start + headWidth) { target[j] *= g }
      }
    }
  }
}

/// The attention sublayer through explicit Q, K and V products.
func standardAttentionSublayer(
  _ operand: ProjectionOperand, projector: some WeightProjector, gates: [Float]?, weights w: LayerWeights,
  configuration c: ModelConfiguration
) -> (output: [Float], meanEntropy: Double) {
  let n = c.sequenceLength, d = c.modelDimension
  var q = projector.project(operand, columns: d, purpose: .query)
  var k = projector.project(operand, columns: d, purpose: .key)
  var v = projector.project(operand, columns: d, purpose: .value)
  addBias(&q, w.biasQuery, rows: n, columns: d)
  addBias(&k, w.biasKey, rows: n, columns: d)
  addBias(&v, w.biasValue, rows: n, columns: d)
  var attended = [Float](repeating: 0, count: n * d)
  var entropies = [Float](repeating: 0, count: c.heads * n)
  attended.withUnsafeMutableBufferPointer { out in
    entropies.withUnsafeMutableBufferPointer { e in
      multiHeadAttention(
        shape: AttentionShape(batch: 1, sequenceLength: n, heads: c.heads, headDimension: c.headDimension),
        query: q, key: k, value: v, output: out.baseAddress!, rowEntropy: e.baseAddress!, threads: 1)
    }
  }
  if let gates { applyHeadGates(&attended, gates: gates, rows: n, headCount: c.heads, headWidth: c.headDimension) }
  let output = projector.project(projector.prepare(attended, rows: n, gram: nil), columns: d, purpose: .output)
  return (output, entropies.reduce(0.0) { $0 + Double($1) } / Double(entropies.count))
}

/// y[i, j] += bias[j] for a rows × columns matrix; nothing when bias is nil.
func addBias(_ y: inout [Float], _ bias: [Float]?, rows: Int, columns: Int) {
  guard let bias else { return }
  y.withUnsafeMutableBufferPointer { target in
    bias.withUnsafeBufferPointer { b in
      for i in 0..<rows { for j in 0..<columns { target[i * columns + j] += b[j] } }
    }
  }
}

/// y += x elementwise (same counts).
func addInPlace(_ y: inout [Float], _ x: [Float]) {
  precondition(y.count == x.count)
  y.withUnsafeMutableBufferPointer { target in
    x.withUnsafeBufferPointer { source in
      for i in 0..<target.count { target[i] += source[i] }
    }
  }
}

/// An activation matrix made ready for products: Y itself (dense), or a
/// factor F (rows × rows) with F·Fᵀ = Y·Yᵀ (sketch).
struct ProjectionOperand {
  /// Y, F, or (with `rowOrder`) the lower-triangular L of F = Pᵀ·L.
  var matrix: [Float]
  var rows: Int
  /// Leading columns of `matrix` that can be nonzero: a rank-r factor's
  /// columns from r on are zero, so its products need only r inner terms.
  var nonzeroColumns: Int
  /// When set, `matrix` is L and row i of L is row rowOrder[i] of F.
  var rowOrder: [Int]?
  init(matrix: [Float], rows: Int, nonzeroColumns: Int? = nil, rowOrder: [Int]? = nil) {
    self.matrix = matrix
    self.rows = rows
    self.nonzeroColumns = nonzeroColumns ?? matrix.count / max(rows, 1)
    self.rowOrder = rowOrder
  }
  var inner: Int { matrix.count / max(rows, 1) }

  /// The operand with its rows in token order (F = Pᵀ·L for a triangular factor).
  var inTokenOrder: [Float] {
    guard let rowOrder else { return matrix }
    return permutingRows(matrix, rows: rows, to: rowOrder)
  }

  /// operand · W for W (`nonzeroColumns` × columns): a triangular factor as
  /// Pᵀ·(L·W), with half the multiply-adds, anything else as a general product.
  func times(_ w: [Float], columns: Int) -> [Float] {
    let inner = nonzeroColumns
    guard let rowOrder else { return project(matrix, rows: rows, w, columns: columns, inner: inner) }
    let width = self.inner
    var product = uninitializedFloats(rows * columns) { out in
      lowerTriangularProduct(m: rows, n: columns, k: inner, a: matrix, lda: width, b: w, ldb: columns, c: out, ldc: columns, threads: 1)
    }
    permuteRowsInPlace(&product, rows: rows, to: rowOrder)
    return product
  }
}

/// Row i of `matrix` moved to row order[i].
func permutingRows(_ matrix: [Float], rows: Int, to order: [Int]) -> [Float] {
  var result = matrix
  permuteRowsInPlace(&result, rows: rows, to: order)
  return result
}

/// Moves row i to row order[i] along the permutation's cycles, one row of
/// scratch (no second matrix: at n = 128 a fresh one cost page faults).
func permuteRowsInPlace(_ matrix: inout [Float], rows: Int, to order: [Int]) {
  let width = matrix.count / max(rows, 1)
  withUnsafeTemporaryAllocation(of: Bool.self, capacity: rows) { placedBuffer in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { rowBuffer in
      let placed = placedBuffer.baseAddress!, carried = rowBuffer.baseAddress!, swapped = carried + width
      placed.initialize(repeating: false, count: rows)
      matrix.withUnsafeMutableBufferPointer { buffer in
        let base = buffer.baseAddress!
        for start in 0..<rows where !placed[start] && order[start] != start {
          carried.update(from: base + start * width, count: width)
          var i = start
          repeat {
            let target = order[i]
            swapped.update(from: base + target * width, count: width)
            (base + target * width).update(from: carried, count: width)
            carried.update(from: swapped, count: width)
            placed[i] = true
            i = target
          } while i != start
        }
      }
    }
  }
}

/// The dense engine's projector: the drawn matrices themselves.
struct DenseProjector: WeightProjector {
  let weights: LayerWeights
  func prepare(_ y: [Float], rows: Int, gram: [Double]?) -> ProjectionOperand {
    ProjectionOperand(matrix: y, rows: rows)
  }
  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose) -> [Float] {
    let matrix: [Float]
    switch purpose {
    case .query: matrix = weights.query
    case .key: matrix = weights.key
    case .value: matrix = weights.value
    case .output: matrix = weights.output
    case .feedForwardIn: matrix = weights.feedForwardIn
    case .feedForwardOut: matrix = weights.feedForwardOut
    case .gates: matrix = weights.gate
    default: preconditionFailure("no weight matrix for \(purpose)")
    }
    return operand.times(matrix, columns: columns)
  }
}

/// Runs the input and every layer for every variant. `prepareLayer(layer)`
/// returns the layer's vector parameters and, per variant index, the projector.
///
/// Each state's Gram matrix X·Xᵀ is computed at most once and shared by the
/// metrics (rank method `gram`) and, when `projectorUsesGram`, by the next
/// layer's query/key/value products (the attention input is the state itself
/// unless the variant is pre-LN).
///
/// `input`: X₀, if the caller makes it (a checkpoint's embeddings); nil draws
/// it by `sampleInput`.
func runEncoder(
  sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, projectorUsesGram: Bool, input given: [Float]? = nil,
  prepareLayer: (Int) -> (LayerWeights, (Int) -> any WeightProjector)
) -> [[MetricValues]] {
  let n = c.sequenceLength, d = c.modelDimension
  let wantsGram = n <= d && (projectorUsesGram || c.rankMethod == .gram)
  func measured(_ state: [Float], entropy: Double) -> (MetricValues, [Double]?) {
    state.withUnsafeBufferPointer { x in
      let gram = wantsGram ? gramOfRows(x.baseAddress!, rows: n, columns: d) : nil
      let metrics = measure(
        x.baseAddress!, rows: n, columns: d, attentionEntropy: entropy,
        rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod, gram: gram)
      return (metrics, gram)
    }
  }
  let input = given ?? sampleInput(sample: sample, configuration: c, seed: seed)
  let (inputMetrics, inputGram) = measured(input, entropy: .nan)
  var results = c.variants.map { _ in [inputMetrics] }
  var states = c.variants.map { _ in input }
  var grams = c.variants.map { _ in inputGram }
  for layer in stride(from: 1, through: c.layers, by: 1) {
    let (weights, projectorFor) = prepareLayer(layer)
    for (v, variant) in c.variants.enumerated() {
      let entropy = encoderLayer(
        variant, state: &states[v], stateGram: projectorUsesGram ? grams[v] : nil, weights: weights,
        projector: projectorFor(v), configuration: c)
      let (metrics, gram) = measured(states[v], entropy: entropy)
      results[v].append(metrics)
      grams[v] = gram
    }
  }
  return results
}

/// One encoder layer in place; returns the mean attention-row entropy.
///
/// `stateGram`: X·Xᵀ of the incoming state, if known.
func encoderLayer(
  _ variant: Variant, state x: inout [Float], stateGram: [Double]? = nil, weights w: LayerWeights,
  projector: any WeightProjector, configuration c: ModelConfiguration
) -> Double {
  let n = c.sequenceLength, d = c.modelDimension, dff = c.feedForwardDimension
  let eps = c.layerNormEpsilon
  func addBias(_ y: inout [Float], _ bias: [Float]?, columns: Int) {
    CollapseLab.addBias(&y, bias, rows: n, columns: columns)
  }
  var attentionInput = x
  if variant.preLayerNorm {
    applyLayerNorm(&attentionInput, rows: n, columns: d, gamma: w.gamma1, beta: w.beta1, eps: eps)
  }
  let attentionOperand = projector.prepare(attentionInput, rows: n, gram: variant.preLayerNorm ? nil : stateGram)
  let gates = variant.positionGates ? projector.positionGates(attentionOperand, weights: w, configuration: c) : nil
  var (sublayer, entropy) = projector.attentionSublayer(attentionOperand, gates: gates, weights: w, configuration: c)
  addBias(&sublayer, w.biasOutput, columns: d)
  var h = sublayer
  if variant.attentionResidual { addInPlace(&h, x) }
  if variant.postLayerNorm { applyLayerNorm(&h, rows: n, columns: d, gamma: w.gamma1, beta: w.beta1, eps: eps) }
  if variant.mlp {
    var mlpInput = h
    if variant.preLayerNorm { applyLayerNorm(&mlpInput, rows: n, columns: d, gamma: w.gamma2, beta: w.beta2, eps: eps) }
    var hidden = projector.project(projector.prepare(mlpInput, rows: n, gram: nil), columns: dff, purpose: .feedForwardIn)
    addBias(&hidden, w.biasFeedForwardIn, columns: dff)
    applyActivation(c.activation, to: &hidden)
    var feedForward = projector.project(projector.prepare(hidden, rows: n, gram: nil), columns: d, purpose: .feedForwardOut)
    addBias(&feedForward, w.biasFeedForwardOut, columns: d)
    if variant.feedForwardResidual { addInPlace(&feedForward, h) }
    h = feedForward
    if variant.postLayerNorm { applyLayerNorm(&h, rows: n, columns: d, gamma: w.gamma2, beta: w.beta2, eps: eps) }
  }
  x = h
  return entropy
}

/// The feed-forward nonlinearity in place.
func applyActivation(_ activation: FeedForwardActivation, to values: inout [Float]) {
  values.withUnsafeMutableBufferPointer { buffer in
    guard let base = buffer.baseAddress else { return }
    switch activation {
    case .gelu: gelu(base, count: buffer.count, approximation: .none, output: base)
    case .geluTanh: gelu(base, count: buffer.count, approximation: .tanh, output: base)
    // Not max(0, x): Swift.max(0, NaN) is 0 and would hide a NaN (PyTorch keeps it).
    case .relu: for i in buffer.indices where buffer[i] < 0 { buffer[i] = 0 }
    }
  }
}

/// X (rows × inner) · W (inner × columns), single-threaded. With `inner`
/// below X's width, only X's first `inner` columns take part (the rest must
/// be zero for this to be the full product).
func project(_ x: [Float], rows: Int, _ w: [Float], columns: Int, inner: Int? = nil) -> [Float] {
  let width = x.count / rows, inner = inner ?? width
  return uninitializedFloats(rows * columns) { out in
    sgemm(m: rows, n: columns, k: inner, a: x, lda: width, b: w, ldb: columns, c: out, ldc: columns, threads: 1)
  }
}

/// An array of `count` floats that `initialize` must fill completely: skips
/// the zero fill of `Array(repeating:count:)`, which showed up at 4 % of the
/// sketch engine's time.
func uninitializedFloats(_ count: Int, _ initialize: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
  [Float](unsafeUninitializedCapacity: count) { buffer, initializedCount in
    if let base = buffer.baseAddress { initialize(base) }
    initializedCount = count
  }
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
  /// PG-OP's gate weights, d × H (empty unless drawn).
  var gate: [Float] = []
  var biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardIn, biasFeedForwardOut, biasGate: [Float]?
  var gamma1, beta1, gamma2, beta2: [Float]?

  init(modelDimension d: Int, feedForwardDimension dff: Int) {
    query = [Float](repeating: 0, count: d * d); key = query; value = query; output = query
    feedForwardIn = [Float](repeating: 0, count: d * dff); feedForwardOut = feedForwardIn
  }

  /// Draws the layer's parameters; the weight matrices only if
  /// `includeMatrices` (the sketch engine never materialises them), the MLP's
  /// and the PG-OP gates' only if some variant has them.
  func draw(sample: UInt64, layer: Int, configuration c: ModelConfiguration, seed: UInt64, includeMatrices: Bool, includeMLP: Bool) {
    let needsGates = c.variants.contains { $0.positionGates }
    func fill(_ matrix: inout [Float], _ purpose: StreamPurpose) {
      drawWeights(&matrix, stream: sampleStream(seed: seed, sample: sample, layer: layer, purpose), configuration: c)
    }
    if includeMatrices {
      fill(&query, .query); fill(&key, .key); fill(&value, .value); fill(&output, .output)
      if includeMLP { fill(&feedForwardIn, .feedForwardIn); fill(&feedForwardOut, .feedForwardOut) }
      if needsGates {
        if gate.count != c.modelDimension * c.heads { gate = [Float](repeating: 0, count: c.modelDimension * c.heads) }
        fill(&gate, .gates)
      }
    }
    let d = c.modelDimension, dff = c.feedForwardDimension
    if needsGates && c.randomBiases {
      var bias = [Float](repeating: 0, count: c.heads)
      bias.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .gateBiases)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      biasGate = bias
    }
    if c.randomBiases {
      var all = [Float](repeating: 0, count: 5 * d + dff)
      all.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .biases)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      biasQuery = Array(all[0..<d]); biasKey = Array(all[d..<(2 * d)]); biasValue = Array(all[(2 * d)..<(3 * d)])
      biasOutput = Array(all[(3 * d)..<(4 * d)]); biasFeedForwardOut = Array(all[(4 * d)..<(5 * d)])
      biasFeedForwardIn = Array(all[(5 * d)...])
    }
    if c.randomLayerNormAffine {
      var all = [Float](repeating: 0, count: 4 * d)
      all.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .layerNormAffine)
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
      sampleStream(seed: seed, sample: sample, layer: 0, purpose)
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
  case .text, .randomTokens:
    preconditionFailure("token inputs come from a checkpoint's embeddings (CheckpointEngine), not from sampleInput")
  }
}
