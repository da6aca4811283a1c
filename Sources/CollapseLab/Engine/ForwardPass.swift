import Foundation
import RankKernels
import Synchronization

// The forward pass every engine shares: a WeightProjector supplies the
// products, this file everything else.

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
  /// ``project(_:columns:purpose:)`` written to `product` (rows × columns).
  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose, into product: UnsafeMutablePointer<Float>)
  /// The attention sublayer before the output bias, concat_h(g_h ⊙ softmax(Q_h·K_hᵀ/√d_k)·V_h)·W_O
  /// with Q = Y·W_Q + b_Q etc., and the statistics of its attention probabilities. `gates`
  /// (n × H, PG-OP) scale head h's output at token i by gates[i·H + h]; nil: no gates.
  /// Writes the output to `output` (n × d).
  func attentionSublayer(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration: ModelConfiguration,
    into output: UnsafeMutablePointer<Float>
  ) -> AttentionStatistics
}

extension WeightProjector {
  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose, into product: UnsafeMutablePointer<Float>) {
    let values = project(operand, columns: columns, purpose: purpose)
    values.withUnsafeBufferPointer { product.update(from: $0.baseAddress!, count: $0.count) }
  }

  func attentionSublayer(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration: ModelConfiguration,
    into output: UnsafeMutablePointer<Float>
  ) -> AttentionStatistics {
    standardAttentionSublayer(operand, projector: self, gates: gates, weights: weights, configuration: configuration, into: output)
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

/// The attention sublayer through explicit Q, K and V products, with the
/// block's grouped-query heads, RoPE and mask.
func standardAttentionSublayer(
  _ operand: ProjectionOperand, projector: some WeightProjector, gates: [Float]?, weights w: LayerWeights,
  configuration c: ModelConfiguration, into output: UnsafeMutablePointer<Float>
) -> AttentionStatistics {
  let (attended, attention) = standardAttendedHeads(operand, projector: projector, gates: gates, weights: w, configuration: c)
  projector.project(projector.prepare(attended, rows: c.sequenceLength, gram: nil), columns: c.modelDimension, purpose: .output, into: output)
  return attention
}

/// The heads' outputs before W_O, concat_h(g_h ⊙ softmax(Q_h·K_hᵀ/√d_k)·V_h)
/// (n × d), through explicit Q, K and V products, and their attention
/// statistics. Q, K, V, the mask and the entropies live in per-thread
/// scratch; the heads' outputs come from the thread's `RecycledArrays`.
func standardAttendedHeads(
  _ operand: ProjectionOperand, projector: some WeightProjector, gates: [Float]?, weights w: LayerWeights,
  configuration c: ModelConfiguration
) -> (heads: [Float], attention: AttentionStatistics) {
  let n = c.sequenceLength, d = c.modelDimension, kv = c.keyValueWidth
  let scratch = SampleScratch.current
  let q = scratch.buffer(.standardQuery, count: n * d, of: Float.self)
  var k = scratch.buffer(.standardKey, count: n * kv, of: Float.self)
  var v = scratch.buffer(.standardValue, count: n * kv, of: Float.self)
  projector.project(operand, columns: d, purpose: .query, into: q)
  projector.project(operand, columns: kv, purpose: .key, into: k)
  projector.project(operand, columns: kv, purpose: .value, into: v)
  addBias(q, w.biasQuery, rows: n, columns: d)
  addBias(k, w.biasKey, rows: n, columns: kv)
  addBias(v, w.biasValue, rows: n, columns: kv)
  if c.rotaryDimensions > 0 {
    let rotary = RotaryTable.shared(for: c)
    rotary.apply(to: q, heads: c.heads)
    rotary.apply(to: k, heads: c.keyValueHeads)
  }
  if c.keyValueHeads != c.heads {
    let wideKeys = scratch.buffer(.standardRepeatedKey, count: n * d, of: Float.self)
    let wideValues = scratch.buffer(.standardRepeatedValue, count: n * d, of: Float.self)
    repeatingHeads(k, rows: n, from: c.keyValueHeads, to: c.heads, headWidth: c.headDimension, into: wideKeys)
    repeatingHeads(v, rows: n, from: c.keyValueHeads, to: c.heads, headWidth: c.headDimension, into: wideValues)
    (k, v) = (wideKeys, wideValues)
  }
  let mask = scratch.buffer(.attentionMask, count: n * n, of: Float.self)
  let masked = c.block.mask.writeAdditiveMask(sequenceLength: n, into: mask)
  let entropies = scratch.buffer(.standardEntropies, count: c.heads * n, of: Float.self)
  let probabilities = c.attentionSpectra ? scratch.buffer(.attentionProbabilities, count: c.heads * n * n, of: Float.self) : nil
  var attended = RecycledArrays.current.headOutput(count: n * d) { out in
    multiHeadAttention(
      shape: AttentionShape(batch: 1, sequenceLength: n, heads: c.heads, headDimension: c.headDimension),
      query: q, key: k, value: v, mask: masked ? mask : nil, output: out, probabilities: probabilities,
      rowEntropy: entropies, threads: 1)
  }
  if let gates { applyHeadGates(&attended, gates: gates, rows: n, headCount: c.heads, headWidth: c.headDimension) }
  let attention = AttentionStatistics(
    rowEntropies: UnsafeBufferPointer(start: entropies, count: c.heads * n),
    probabilities: probabilities.map { UnsafeBufferPointer(start: $0, count: c.heads * n * n) }, heads: c.heads, sequenceLength: n)
  return (attended, attention)
}

/// Grouped-query attention's sharing made explicit: a rows × (from·headWidth)
/// matrix of key or value heads widened to rows × (to·headWidth), query head
/// h reading head ⌊h / (to/from)⌋ (HF's `repeat_kv`).
func repeatingHeads(
  _ x: UnsafePointer<Float>, rows: Int, from: Int, to: Int, headWidth: Int, into out: UnsafeMutablePointer<Float>
) {
  let group = to / from, inWidth = from * headWidth, outWidth = to * headWidth
  for i in 0..<rows {
    for h in 0..<to {
      (out + i * outWidth + h * headWidth).update(from: x + i * inWidth + (h / group) * headWidth, count: headWidth)
    }
  }
}

/// RoPE in HF's `rotate_half` layout: in each head, the first r dimensions
/// form the pairs (j, j + r/2), j < r/2, and the pair at position i turns by
/// the angle i·θ^(−2j/r); the other d_k − r dimensions pass unchanged
/// (GPT-NeoX's partial rotary). Angles in Float64, cos and sin rounded once.
struct RotaryTable: Sendable {
  let rows: Int, headWidth: Int, rotary: Int
  let cosines: [Float], sines: [Float]  // rows × r/2

  private struct Key: Hashable { let rows, headWidth, rotary: Int, thetaBits: UInt64 }
  private static let cache = Mutex<[Key: RotaryTable]>([:])

  /// The table of `c`'s shape, built once per process and shared (every
  /// attention call of a run needs the same one: 120 per SmolLM2 sample,
  /// each 4,096 sin/cos pairs at n = 128).
  static func shared(for c: ModelConfiguration) -> RotaryTable {
    let key = Key(rows: c.sequenceLength, headWidth: c.headDimension, rotary: c.rotaryDimensions, thetaBits: c.block.ropeTheta.bitPattern)
    if let table = cache.withLock({ $0[key] }) { return table }
    let table = RotaryTable(configuration: c)
    cache.withLock { tables in
      if tables.count > 64 { tables.removeAll() }  // bounded: runs use one or a few shapes
      tables[key] = table
    }
    return table
  }

  init(configuration c: ModelConfiguration) {
    rows = c.sequenceLength; headWidth = c.headDimension; rotary = c.rotaryDimensions
    let half = rotary / 2
    var cosines = [Float](repeating: 0, count: rows * half), sines = cosines
    for i in 0..<rows {
      for j in 0..<half {
        let angle = Double(i) * pow(c.block.ropeTheta, -Double(2 * j) / Double(rotary))
        cosines[i * half + j] = Float(cos(angle)); sines[i * half + j] = Float(sin(angle))
      }
    }
    self.cosines = cosines; self.sines = sines
  }

  /// Rotates every head of a rows × (heads·headWidth) matrix in place.
  func apply(to buffer: UnsafeMutablePointer<Float>, heads: Int) {
    let half = rotary / 2, width = heads * headWidth
    for i in 0..<rows {
      for h in 0..<heads {
        let base = i * width + h * headWidth
        for j in 0..<half {
          let c = cosines[i * half + j], s = sines[i * half + j]
          let a = buffer[base + j], b = buffer[base + j + half]
          buffer[base + j] = a * c - b * s
          buffer[base + j + half] = b * c + a * s
        }
      }
    }
  }
}

/// y[i, j] += bias[j] for a rows × columns matrix; nothing when bias is nil.
func addBias(_ y: inout [Float], _ bias: [Float]?, rows: Int, columns: Int) {
  guard bias != nil else { return }
  y.withUnsafeMutableBufferPointer { addBias($0.baseAddress!, bias, rows: rows, columns: columns) }
}

/// ``addBias(_:_:rows:columns:)`` on `y` (rows × columns) in place.
func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: [Float]?, rows: Int, columns: Int) {
  guard let bias else { return }
  bias.withUnsafeBufferPointer { b in
    for i in 0..<rows { for j in 0..<columns { y[i * columns + j] += b[j] } }
  }
}

/// Makes `array` hold `count` elements: kept as it is (contents too) when it
/// has that count, else a new zero array.
func resize<T: Numeric>(_ array: inout [T], count: Int) {
  if array.count != count { array = [T](repeating: 0, count: count) }
}

/// Copies `source` into `target`'s own storage (no allocation when `target`
/// is uniquely referenced and of the same count; assigning the array would
/// share storage, and the next write would copy it).
func assign<T: Numeric>(_ target: inout [T], from source: [T]) {
  resize(&target, count: source.count)
  target.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: source) }
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

/// Runs the input and every layer for every variant. `prepareLayer(layer)`
/// returns the layer's vector parameters and, per variant index, the projector.
///
/// Each state's Gram matrix X·Xᵀ is computed at most once and shared by the
/// metrics (rank method `gram`) and, when `projectorUsesGram`, by the next
/// layer's query/key/value products (the attention input is the state itself
/// unless the variant normalises before its sublayers).
///
/// After the last layer, variants with pre- or parallel norms pass through
/// the block's final norm, if it has one (HF's last hidden state).
///
/// `input`: X₀, if the caller makes it (a checkpoint's embeddings); nil draws
/// it by `sampleInput`. `finalNorm`: a checkpoint's final norm parameters;
/// nil draws them (`LayerWeights.finalNormParameters`).
func runEncoder(
  sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, projectorUsesGram: Bool, input given: [Float]? = nil,
  finalNorm givenFinalNorm: (gamma: [Float]?, beta: [Float]?)? = nil,
  prepareLayer: (Int) -> (LayerWeights, (Int) -> any WeightProjector)
) -> [[MetricValues]] {
  SampleMetrics.collecting(for: c) { results in
    runEncoder(
      sample: sample, configuration: c, seed: seed, projectorUsesGram: projectorUsesGram, input: given, finalNorm: givenFinalNorm,
      into: results, prepareLayer: prepareLayer)
  }
}

/// ``runEncoder(sample:configuration:seed:projectorUsesGram:input:finalNorm:prepareLayer:)``
/// written to `results`. The states, their Gram matrices and the layer's
/// intermediates live in the thread's `EncoderWorkspace`, so that with a
/// Gaussian input (or a given one), no random biases or norm parameters, and
/// projectors that allocate nothing, a sample allocates nothing after a
/// warm-up sample of the same configuration.
func runEncoder(
  sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, projectorUsesGram: Bool, input given: [Float]? = nil,
  finalNorm givenFinalNorm: (gamma: [Float]?, beta: [Float]?)? = nil, into results: SampleMetrics,
  prepareLayer: (Int) -> (LayerWeights, (Int) -> any WeightProjector)
) {
  let n = c.sequenceLength, d = c.modelDimension
  let wantsGram = n <= d && (projectorUsesGram || c.rankMethod == .gram)
  // The thread's arrays, moved out for the sample (uniquely referenced, so
  // updated in place) and back after it.
  let workspace = EncoderWorkspace.current
  var arrays = EncoderWorkspace.Arrays()
  swap(&arrays, &workspace.arrays)
  defer { swap(&arrays, &workspace.arrays) }
  /// The metrics of `state`; its Gram matrix (when wanted) goes to `gram`.
  func measured(_ state: [Float], gram: inout [Double], attention: AttentionStatistics) -> MetricValues {
    if wantsGram {
      resize(&gram, count: n * n)
      state.withUnsafeBufferPointer { x in
        gram.withUnsafeMutableBufferPointer { gramMatrix(rows: n, columns: d, x: x.baseAddress!, ldx: d, gram: $0.baseAddress!, ldg: max(1, n)) }
      }
    }
    return state.withUnsafeBufferPointer { x in
      measure(
        x.baseAddress!, rows: n, columns: d, attentionEntropy: attention.entropy, attention: attention,
        rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod, gram: wantsGram ? gram : nil)
    }
  }
  if let given { assign(&arrays.input, from: given) } else { sampleInput(sample: sample, configuration: c, seed: seed, into: &arrays.input) }
  let inputMetrics = measured(arrays.input, gram: &arrays.inputGram, attention: .absent)
  if arrays.states.count != c.variants.count {
    arrays.states = Array(repeating: [], count: c.variants.count)
    arrays.grams = Array(repeating: [], count: c.variants.count)
  }
  for v in c.variants.indices {
    results[variant: v, layer: 0] = inputMetrics
    assign(&arrays.states[v], from: arrays.input)
    if wantsGram { assign(&arrays.grams[v], from: arrays.inputGram) }
  }
  let finalNorm = c.block.finalNorm.map { kind in
    (kind, givenFinalNorm ?? LayerWeights.finalNormParameters(sample: sample, configuration: c, seed: seed))
  }
  for layer in stride(from: 1, through: c.layers, by: 1) {
    let (weights, projectorFor) = prepareLayer(layer)
    for (v, variant) in c.variants.enumerated() {
      let attention = encoderLayer(
        variant, state: &arrays.states[v], stateGram: projectorUsesGram && wantsGram ? arrays.grams[v] : nil, weights: weights,
        projector: projectorFor(v), configuration: c, buffers: &arrays.layer)
      if layer == c.layers, let (kind, parameters) = finalNorm, variant.preLayerNorm || variant.parallelLayerNorm {
        applyNorm(kind, &arrays.states[v], rows: n, columns: d, gamma: parameters.gamma, beta: parameters.beta, eps: c.layerNormEpsilon)
      }
      results[variant: v, layer: layer] = measured(arrays.states[v], gram: &arrays.grams[v], attention: attention)
    }
  }
}

/// The encoder path's per-thread arrays (`runEncoder`), kept between samples
/// so that a sample reuses the storage of the one before.
final class EncoderWorkspace {
  struct Arrays {
    /// X₀ and its Gram matrix; each variant's state and its Gram matrix.
    var input: [Float] = [], inputGram: [Double] = []
    var states: [[Float]] = [], grams: [[Double]] = []
    var layer = EncoderLayerBuffers()
  }
  var arrays = Arrays()
  /// The random-model engines' layer parameters, redrawn in place.
  let weights = LayerWeights(modelDimension: 0, feedForwardDimension: 0)

  /// The calling thread's workspace.
  static var current: EncoderWorkspace { encoderWorkspace.value }
}

private let encoderWorkspace = ThreadLocal { EncoderWorkspace() }

/// The intermediates of one block (`encoderLayer`), n × d unless marked.
struct EncoderLayerBuffers {
  /// A norm of the state or of the running sum, which a sublayer reads
  /// while the un-normed one is kept for the residual.
  var normed: [Float] = []
  /// The attention sublayer's output, then the block's running sum.
  var sum: [Float] = []
  /// The MLP's hidden layer (n × d_ff) and its output.
  var hidden: [Float] = [], feedForward: [Float] = []
}

/// One block in place; returns what its attention probabilities say.
///
/// `stateGram`: X·Xᵀ of the incoming state, if known.
func encoderLayer(
  _ variant: Variant, state x: inout [Float], stateGram: [Double]? = nil, weights w: LayerWeights,
  projector: any WeightProjector, configuration c: ModelConfiguration
) -> AttentionStatistics {
  var buffers = EncoderLayerBuffers()
  return encoderLayer(variant, state: &x, stateGram: stateGram, weights: w, projector: projector, configuration: c, buffers: &buffers)
}

/// ``encoderLayer(_:state:stateGram:weights:projector:configuration:)`` with
/// its intermediates in `b`; the new state is swapped into `x` (the old
/// one's storage goes to `b` for the next block).
func encoderLayer(
  _ variant: Variant, state x: inout [Float], stateGram: [Double]? = nil, weights w: LayerWeights,
  projector: any WeightProjector, configuration c: ModelConfiguration, buffers b: inout EncoderLayerBuffers
) -> AttentionStatistics {
  let n = c.sequenceLength, d = c.modelDimension, dff = c.feedForwardDimension
  let eps = c.layerNormEpsilon, kind = c.block.normKind
  func norm(_ y: inout [Float], _ gamma: [Float]?, _ beta: [Float]?) {
    applyNorm(kind, &y, rows: n, columns: d, gamma: gamma, beta: beta, eps: eps)
  }
  /// b.normed = N(y).
  func setNormed(_ y: [Float], _ gamma: [Float]?, _ beta: [Float]?) {
    assign(&b.normed, from: y)
    norm(&b.normed, gamma, beta)
  }
  /// The MLP on `input`, bias added, in b.feedForward.
  func feedForward(_ input: [Float]) {
    resize(&b.hidden, count: n * dff)
    resize(&b.feedForward, count: n * d)
    let inputOperand = projector.prepare(input, rows: n, gram: nil)
    b.hidden.withUnsafeMutableBufferPointer {
      feedForwardHidden(inputOperand, projector: projector, weights: w, configuration: c, into: $0.baseAddress!)
    }
    let hiddenOperand = projector.prepare(b.hidden, rows: n, gram: nil)
    b.feedForward.withUnsafeMutableBufferPointer {
      projector.project(hiddenOperand, columns: d, purpose: .feedForwardOut, into: $0.baseAddress!)
    }
    addBias(&b.feedForward, w.biasFeedForwardOut, rows: n, columns: d)
  }
  /// The attention sublayer on the state (normed first if the variant says so), output in b.sum.
  func attend(normsFirst: Bool) -> AttentionStatistics {
    if normsFirst { setNormed(x, w.gamma1, w.beta1) }
    let operand = projector.prepare(normsFirst ? b.normed : x, rows: n, gram: normsFirst ? nil : stateGram)
    let gates = variant.positionGates ? projector.positionGates(operand, weights: w, configuration: c) : nil
    resize(&b.sum, count: n * d)
    return b.sum.withUnsafeMutableBufferPointer {
      projector.attentionSublayer(operand, gates: gates, weights: w, configuration: c, into: $0.baseAddress!)
    }
  }
  let attention = attend(normsFirst: variant.preLayerNorm || variant.parallelLayerNorm)
  addBias(&b.sum, w.biasOutput, rows: n, columns: d)
  if variant.parallelLayerNorm {
    // out = [x +] attn(N₁(x)) [+ mlp(N₂(x))], summed as GPT-NeoX does: mlp + attn, then + x.
    if variant.mlp {
      setNormed(x, w.gamma2, w.beta2)
      feedForward(b.normed)
      addInPlace(&b.feedForward, b.sum)
      swap(&b.feedForward, &b.sum)
    }
    if variant.attentionResidual { addInPlace(&b.sum, x) }
    swap(&x, &b.sum)
    return attention
  }
  if variant.attentionResidual { addInPlace(&b.sum, x) }
  if variant.postLayerNorm { norm(&b.sum, w.gamma1, w.beta1) }
  if variant.mlp {
    if variant.preLayerNorm {
      setNormed(b.sum, w.gamma2, w.beta2)
      feedForward(b.normed)
    } else {
      feedForward(b.sum)
    }
    if variant.feedForwardResidual { addInPlace(&b.feedForward, b.sum) }
    swap(&b.feedForward, &b.sum)
    if variant.postLayerNorm { norm(&b.sum, w.gamma2, w.beta2) }
  }
  swap(&x, &b.sum)
  return attention
}

/// A block's norm on every row of x (rows × columns) in place: LayerNorm, or
/// RMSNorm x/√(mean(x²) + ε)·γ accumulated in Float64 (HF computes it in Float32).
func applyNorm(_ kind: NormKind, _ x: inout [Float], rows: Int, columns: Int, gamma: [Float]?, beta: [Float]?, eps: Float) {
  switch kind {
  case .layer:
    applyLayerNorm(&x, rows: rows, columns: columns, gamma: gamma, beta: beta, eps: eps)
  case .rms:
    x.withUnsafeMutableBufferPointer { buffer in
      for i in 0..<rows {
        var sum = 0.0
        for j in 0..<columns { let v = Double(buffer[i * columns + j]); sum += v * v }
        let scale = Float(1 / (sum / Double(columns) + Double(eps)).squareRoot())
        for j in 0..<columns {
          buffer[i * columns + j] *= scale
          if let gamma { buffer[i * columns + j] *= gamma[j] }
        }
      }
    }
  }
}

/// The MLP's hidden layer (rows × d_ff) for the operand of its input Y:
/// act(Y·W_in + b_in), or for SwiGLU silu(Y·W_gate + b_gate) ⊙ (Y·W_up + b_up).
/// Shared by every engine (the Gram engine's weights carry no biases).
func feedForwardHidden<Projector: WeightProjector>(
  _ operand: ProjectionOperand, projector: Projector, weights w: LayerWeights, configuration c: ModelConfiguration
) -> [Float] {
  uninitializedFloats(operand.rows * c.feedForwardDimension) {
    feedForwardHidden(operand, projector: projector, weights: w, configuration: c, into: $0)
  }
}

/// ``feedForwardHidden(_:projector:weights:configuration:)`` written to
/// `hidden` (rows × d_ff); SwiGLU's gate product goes to per-thread scratch.
func feedForwardHidden<Projector: WeightProjector>(
  _ operand: ProjectionOperand, projector: Projector, weights w: LayerWeights, configuration c: ModelConfiguration,
  into hidden: UnsafeMutablePointer<Float>
) {
  let n = operand.rows, dff = c.feedForwardDimension
  projector.project(operand, columns: dff, purpose: .feedForwardIn, into: hidden)
  addBias(hidden, w.biasFeedForwardIn, rows: n, columns: dff)
  if c.activation == .swiglu {
    let gate = SampleScratch.current.buffer(.feedForwardGate, count: n * dff, of: Float.self)
    projector.project(operand, columns: dff, purpose: .feedForwardGate, into: gate)
    addBias(gate, w.biasFeedForwardGate, rows: n, columns: dff)
    swiglu(gate: gate, up: hidden, count: n * dff, output: hidden)
  } else {
    applyActivation(c.activation, to: hidden, count: n * dff)
  }
}

/// The feed-forward nonlinearity in place.
func applyActivation(_ activation: FeedForwardActivation, to values: inout [Float]) {
  values.withUnsafeMutableBufferPointer { buffer in
    guard let base = buffer.baseAddress else { return }
    applyActivation(activation, to: base, count: buffer.count)
  }
}

/// ``applyActivation(_:to:)`` on `count` values at `values`.
func applyActivation(_ activation: FeedForwardActivation, to values: UnsafeMutablePointer<Float>, count: Int) {
  switch activation {
  case .gelu: gelu(values, count: count, approximation: .none, output: values)
  case .geluTanh: gelu(values, count: count, approximation: .tanh, output: values)
  // Not max(0, x): Swift.max(0, NaN) is 0 and would hide a NaN (PyTorch keeps it).
  case .relu: for i in 0..<count where values[i] < 0 { values[i] = 0 }
  case .swiglu: preconditionFailure("SwiGLU gates a second product; feedForwardHidden applies it")
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

