import RankKernels

/// The exact-in-distribution engine that keeps every token matrix in the
/// n-dimensional Gram space of its rows: no n × d matrix is formed outside
/// the MLP's hidden layer and the metrics' entries.
///
/// With Gaussian weights, zero biases, norms without parameters (γ = 1,
/// β = 0) and a Gaussian input, the law of the whole forward pass is
/// invariant under X ↦ X·O for every orthogonal O that fixes the ones
/// direction u = 1_d/√d (LayerNorm's centring is the only thing that singles
/// out a direction). So a state X (n × d) is kept as its coordinate along u
/// and a factor of the rest, X = a·uᵀ + F·Ωᵀ with Ω (d × n) orthonormal columns
/// orthogonal to u, and only (a, F·Fᵀ) matters. `GramState` holds them;
/// the article "The Gram-space engine" derives each step:
/// - a product Y·W (W iid N(0, s²)) has the law of L·Ξ for any L with
///   L·Lᵀ = Y·Yᵀ and a fresh Gaussian Ξ (as in ``SketchEngine``); the
///   attention sublayer is the sketch engine's, up to its heads' outputs T;
/// - a residual X + T·W_O splits Ξ into its u-coordinate, its coordinates on
///   Ω and the (d − 1 − n)-dimensional rest, whose Gram matrix is a Wishart
///   matrix, RᵀR with R a Bartlett factor: n + n² + n(n+1)/2 random numbers
///   instead of n·d;
/// - LayerNorm sets a to 0 and scales F's rows by 1/√(‖F_i‖²/d + ε); RMSNorm
///   scales a and F's rows by 1/√((a_i² + ‖F_i‖²)/d + ε);
/// - the metrics need X's Gram matrix a·aᵀ + F·Fᵀ, except Dong's composite
///   norm, which needs entries: X = a·uᵀ + F·Ωᵀ with one Haar-distributed
///   frame Ω per sample has the right law at every layer (not jointly across
///   layers for that one metric).
///
/// Exact where these identities hold (``gramInexactReason(_:)`` says where
/// they do not: uniform weights, shared layers, biases, random norm
/// parameters, embedding or low-rank inputs, rank methods other than `gram`,
/// d < 2n + 1); causal and window masks, RoPE, grouped-query heads, pre,
/// post and parallel norms, RMSNorm, final norms, SwiGLU and PG-OP gates are
/// covered. Each variant draws its own numbers (tagged streams, as in the
/// sketch engine), so variants are not paired within a sample.
public struct GramEngine: InPlaceForwardEngine {
  /// Multiplies the standard deviation of every weight; 1 except in the test
  /// that shows a wrong variance scaling is detected.
  let varianceScaleForTesting: Float

  public init() { varianceScaleForTesting = 1 }
  init(varianceScaleForTesting: Float) { self.varianceScaleForTesting = varianceScaleForTesting }

  public var kind: EngineKind { .gram }

  /// ``run(sample:configuration:seed:)`` written to `results`. After a
  /// warm-up sample of the same configuration on the calling thread it makes
  /// no heap allocation: the states live in the thread's `GramWorkspace`,
  /// everything else in its `SampleScratch`.
  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, into results: SampleMetrics) {
    precondition(gramInexactReason(c) == nil, "the Gram engine is not exact for this configuration: \(gramInexactReason(c)!)")
    let n = c.sequenceLength, d = c.modelDimension
    // The thread's states, moved out for the sample (so that they stay
    // uniquely referenced and are updated in place) and back after it.
    let workspace = GramWorkspace.current
    var states = GramWorkspace.States()
    swap(&states, &workspace.states)
    defer { swap(&states, &workspace.states) }

    let frame = haarFrameOrthogonalToOnes(sample: sample, configuration: c, seed: seed)
    func measured(_ state: GramState, attention: AttentionStatistics) -> MetricValues {
      state.withEntries(frame: frame, columns: d) { entries in
        measure(
          entries, rows: n, columns: d, attentionEntropy: attention.entropy, attention: attention,
          rankToleranceFactor: c.rankToleranceFactor, rankMethod: .gram, gram: state.gram)
      }
    }
    states.input.drawGaussianInput(sample: sample, configuration: c, seed: seed)
    let inputMetrics = measured(states.input, attention: .absent)
    if states.variants.count != c.variants.count { states.variants = Array(repeating: GramState(), count: c.variants.count) }
    for v in c.variants.indices {
      results[variant: v, layer: 0] = inputMetrics
      states.variants[v].assign(states.input)
    }
    let weights = workspace.noWeights
    for layer in stride(from: 1, through: c.layers, by: 1) {
      for (v, variant) in c.variants.enumerated() {
        let projector = SketchProjector(
          sample: sample, layer: layer, variant: v, seed: seed, configuration: c, varianceScale: varianceScaleForTesting,
          gammaTries: 1)
        let attention = gramLayer(
          variant, state: &states.variants[v], normed: &states.normed, projector: projector, weights: weights, configuration: c)
        if layer == c.layers, let kind = c.block.finalNorm, variant.preLayerNorm || variant.parallelLayerNorm {
          states.variants[v].normalize(kind, modelDimension: d, eps: c.layerNormEpsilon)
        }
        results[variant: v, layer: layer] = measured(states.variants[v], attention: attention)
      }
    }
  }

  /// One block on a Gram-space state, in the order of `encoderLayer`;
  /// `normed` is the caller's state for the norm of `x` that some steps read.
  private func gramLayer(
    _ variant: Variant, state x: inout GramState, normed: inout GramState, projector: SketchProjector,
    weights w: LayerWeights, configuration c: ModelConfiguration
  ) -> AttentionStatistics {
    let n = c.sequenceLength, d = c.modelDimension
    let eps = c.layerNormEpsilon, kind = c.block.normKind
    /// `normed` set to the norm of `state`.
    func normalized(_ state: GramState) -> GramState {
      normed.assign(state)
      normed.normalize(kind, modelDimension: d, eps: eps)
      return normed
    }
    /// The MLP's hidden layer (n × d_ff, entries: the nonlinearity needs
    /// them) on `input`, in per-thread scratch, made ready for the residual
    /// product. Its rows stay in the input factor's pivot order (the
    /// activation is elementwise); the hidden factor's order names tokens
    /// through it, which saves moving n × d_ff floats back to token order.
    func feedForwardOperand(_ input: GramState) -> ProjectionOperand {
      let hidden = SampleScratch.current.buffer(.feedForwardHidden, count: n * c.feedForwardDimension, of: Float.self)
      var operand = ProjectionOperand(factoring: input.gram, rows: n)
      // With d_ff < n the hidden layer is its own operand (no factor), in token order.
      let tokens = n <= c.feedForwardDimension ? operand.rowOrder : nil
      operand.productsInPivotOrder = tokens != nil
      CollapseLab.feedForwardHidden(operand, projector: projector, weights: w, configuration: c, into: hidden)
      guard let tokens else { return projector.prepare(hidden, rows: n, columns: c.feedForwardDimension) }
      return ProjectionOperand(factoringRowsOf: hidden, rows: n, columns: c.feedForwardDimension, tokens: tokens)
    }
    let normsFirst = variant.preLayerNorm || variant.parallelLayerNorm
    let operand = ProjectionOperand(factoring: normsFirst ? normalized(x).gram : x.gram, rows: n)
    let gates = variant.positionGates ? projector.positionGates(operand, weights: w, configuration: c) : nil
    let (heads, attention) = projector.attendedHeads(operand, gates: gates, weights: w, configuration: c)
    let headsOperand = projector.prepare(heads, rows: n, gram: nil)
    let outputDraw = ResidualDraw(projector: projector, purpose: .output, configuration: c)
    let feedForwardDraw = ResidualDraw(projector: projector, purpose: .feedForwardOut, configuration: c)
    if variant.parallelLayerNorm {
      // The MLP reads the block's input, so it goes first (its numbers come
      // from its own streams; its factor is taken before `add` reuses scratch).
      let hidden = variant.mlp ? feedForwardOperand(normalized(x)) : nil
      if !variant.attentionResidual { x.setToZero() }
      x.add(headsOperand, outputDraw, modelDimension: d)
      if let hidden { x.add(hidden, feedForwardDraw, modelDimension: d) }
      return attention
    }
    if !variant.attentionResidual { x.setToZero() }
    x.add(headsOperand, outputDraw, modelDimension: d)
    if variant.postLayerNorm { x.normalize(kind, modelDimension: d, eps: eps) }
    if variant.mlp {
      let hidden = feedForwardOperand(variant.preLayerNorm ? normalized(x) : x)
      if !variant.feedForwardResidual { x.setToZero() }
      x.add(hidden, feedForwardDraw, modelDimension: d)
      if variant.postLayerNorm { x.normalize(kind, modelDimension: d, eps: eps) }
    }
    return attention
  }
}

/// Why the Gram engine would not be exact in distribution for `c`, or nil
/// when it is: everything ``sketchInexactReason(_:)`` needs, plus a law that
/// is invariant under orthogonal maps fixing the ones direction (no biases,
/// no random norm parameters, a Gaussian input), ranks from Gram matrices,
/// and room for a fresh n-dimensional complement (d ≥ 2n + 1).
public func gramInexactReason(_ c: ModelConfiguration) -> String? {
  if let why = sketchInexactReason(c) { return why }
  if c.randomBiases { return "random biases are not functions of the tokens' Gram matrix (--random-biases)" }
  if c.randomLayerNormAffine { return "random norm parameters single out directions of the model space (--random-layernorm)" }
  if c.inputRank != nil { return "a rank-r input is not Gaussian in every direction (--input-rank)" }
  if c.input != .gaussian { return "the input \(c.input.rawValue) is not a Gaussian token matrix (--input)" }
  if c.rankMethod != .gram { return "its ranks come from Gram matrices, and --rank-method is \(c.rankMethod.rawValue)" }
  if c.modelDimension < 2 * c.sequenceLength + 1 {
    return "a residual needs d ≥ 2n + 1 (d = \(c.modelDimension), n = \(c.sequenceLength))"
  }
  return nil
}

/// The stream purposes of one residual product's draws in the Gram engine.
struct ResidualDraw {
  let projector: SketchProjector
  /// ξ_u (r numbers) then Ξ_Ω (r × n), all N(0, 1).
  let coordinates: StreamPurpose
  /// The Bartlett factor of the complement: its normals and its uniforms.
  let complementNormals: StreamPurpose, complementUniforms: StreamPurpose
  /// The weight's standard deviation (GPT-2 scales residual projections by depth).
  let scale: Float

  init(projector: SketchProjector, purpose: StreamPurpose, configuration c: ModelConfiguration) {
    self.projector = projector
    scale = c.weightScale(for: purpose) * projector.varianceScale
    switch purpose {
    case .output: (coordinates, complementNormals, complementUniforms) = (.outputCoordinates, .outputComplement, .outputComplementUniforms)
    case .feedForwardOut:
      (coordinates, complementNormals, complementUniforms) = (.feedForwardOutCoordinates, .feedForwardOutComplement, .feedForwardOutComplementUniforms)
    default: preconditionFailure("the Gram engine adds only W_O and the MLP's down projection to the residual stream")
    }
  }
}

/// A token matrix X (n × d) as X = a·uᵀ + F·Ωᵀ, u = 1_d/√d, Ω (d × n)
/// orthonormal and orthogonal to u: its coordinate along u and a factor of
/// the rest. F is kept as the rows of a lower-triangular L in pivot order
/// (row i of L is token order[i]), with `rank` nonzero columns.
struct GramState {
  /// a = X·u, token order.
  private(set) var alongOnes: [Float]
  /// L (n × n, row-major, pivot order), lower-triangular.
  private(set) var lower: [Float]
  private(set) var order: [Int]
  private(set) var rank: Int
  /// X·Xᵀ = a·aᵀ + F·Fᵀ (n × n, token order, Float64). Each step updates it
  /// where it has it at hand (`add` forms F·Fᵀ to factor it, `normalize`
  /// scales it), so the metrics and the next step's factor never recompute
  /// it from L: that was four of a layer's six Gram matrices.
  private(set) var gram: [Double]
  var rows: Int { alongOnes.count }

  /// The state of no tokens (empty arrays: no allocation); `assign` or
  /// `drawGaussianInput` sizes it.
  init() {
    alongOnes = []
    lower = []
    order = []
    rank = 0
    gram = []
  }

  /// Resizes the arrays for n tokens; keeps them (and their contents) when they have that size.
  private mutating func resize(rows n: Int) {
    CollapseLab.resize(&alongOnes, count: n)
    CollapseLab.resize(&lower, count: n * n)
    CollapseLab.resize(&order, count: n)
    CollapseLab.resize(&gram, count: n * n)
  }

  /// Sets this state to `other`, copying into its own arrays (no allocation
  /// when they are uniquely referenced and of the same size).
  mutating func assign(_ other: GramState) {
    CollapseLab.assign(&alongOnes, from: other.alongOnes)
    CollapseLab.assign(&lower, from: other.lower)
    CollapseLab.assign(&order, from: other.order)
    CollapseLab.assign(&gram, from: other.gram)
    rank = other.rank
  }

  /// Sets X to the zero matrix in place.
  mutating func setToZero() {
    alongOnes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    lower.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    order.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = i } }
    gram.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    rank = 0
  }

  /// Writes [a | F] in token order (n × (n + 1)) to `out`.
  private func writeCoordinates(to out: UnsafeMutablePointer<Float>) {
    let n = rows
    for j in 0..<n {
      let token = order[j]
      out[token * (n + 1)] = alongOnes[token]
      for k in 0..<n { out[token * (n + 1) + 1 + k] = lower[j * n + k] }
    }
  }

  /// X = a·uᵀ + F·Ωᵀ = [a | F]·[u | Ω]ᵀ (n × d, token order) for the frame
  /// [u | Ω]ᵀ ((n + 1) × d, row-major) of ``haarFrameOrthogonalToOnes``: one
  /// product, no row permutation and no separate pass to add a·uᵀ. Passes
  /// `body` per-thread scratch, valid until the next call on this thread.
  func withEntries<R>(frame: UnsafePointer<Float>, columns d: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
    let n = rows
    let scratch = SampleScratch.current
    let coordinates = scratch.buffer(.entryCoordinates, count: n * (n + 1), of: Float.self)
    writeCoordinates(to: coordinates)
    let entries = scratch.buffer(.entries, count: n * d, of: Float.self)
    sgemm(m: n, n: d, k: n + 1, a: coordinates, lda: n + 1, b: frame, ldb: d, c: entries, ldc: d, threads: 1)
    return body(entries)
  }

  /// Sets this state to the input X₀ (iid N(0, 1), n × d): a ~ N(0, I_n) and
  /// F·Fᵀ ~ Wishart(d − 1, I_n), F = Rᵀ for a Bartlett factor R; the two are independent.
  mutating func drawGaussianInput(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) {
    let n = c.sequenceLength
    resize(rows: n)
    alongOnes.withUnsafeMutableBufferPointer {
      sampleStream(seed: seed, sample: sample, layer: 0, .input).fillNormal($0.baseAddress!, count: n)
    }
    let scratch = SampleScratch.current
    let r = scratch.buffer(.inputBartlett, count: n * n, of: Float.self)
    bartlettFactors(
      count: 1, size: n, degrees: c.modelDimension - 1,
      normals: sampleStream(seed: seed, sample: sample, layer: 0, .inputComplement),
      uniforms: sampleStream(seed: seed, sample: sample, layer: 0, .inputComplementUniforms), tries: 1, into: r)
    lower.withUnsafeMutableBufferPointer { l in
      for i in 0..<n { for k in 0..<n { l[i * n + k] = k <= i ? r[k * n + i] : 0 } }
    }
    order.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = i } }
    rank = n
    let coordinates = scratch.buffer(.inputCoordinates, count: n * (n + 1), of: Float.self)
    writeCoordinates(to: coordinates)
    gram.withUnsafeMutableBufferPointer {
      gramMatrix(rows: n, columns: n + 1, x: coordinates, ldx: n + 1, gram: $0.baseAddress!, ldg: max(1, n))
    }
  }

  /// X + Y·W for W (d × d) iid N(0, s²), fresh, given Y's factor `operand`
  /// (rows × r): Y·W has the law of L_Y·Ξ, and Ξ (r × d) splits into its
  /// coordinate along u (ξ_u), its coordinates on Ω (Ξ_Ω, r × n) and the rest,
  /// whose Gram matrix is Wishart(d − 1 − n), = RᵀR with R a Bartlett factor:
  /// a += s·L_Y·ξ_u and F becomes a factor of the Gram matrix of
  /// [F + s·L_Y·Ξ_Ω | s·L_Y·Rᵀ].
  mutating func add(_ operand: ProjectionOperand, _ draw: ResidualDraw, modelDimension d: Int) {
    let n = rows, r = operand.nonzeroColumns
    if r == 0 { return }  // Y = 0: Y·W = 0
    let width = 1 + n + r
    let scratch = SampleScratch.current
    // M = s·[ξ_u | Ξ_Ω | Rᵀ], r × (1 + n + r).
    let drawn = scratch.buffer(.residualDraws, count: r * (1 + n), of: Float.self)
    draw.projector.stream(draw.coordinates).fillNormal(drawn, count: r * (1 + n), standardDeviation: draw.scale)
    let bartlett = scratch.buffer(.residualBartlett, count: r * r, of: Float.self)
    bartlettFactors(
      count: 1, size: r, degrees: d - 1 - n, normals: draw.projector.stream(draw.complementNormals),
      uniforms: draw.projector.stream(draw.complementUniforms), tries: 1, into: bartlett)
    let m = scratch.buffer(.residualMatrix, count: r * width, of: Float.self)
    for k in 0..<r {
      for j in 0..<(1 + n) { m[k * width + j] = drawn[k * (1 + n) + j] }
      for j in 0..<r { m[k * width + 1 + n + j] = draw.scale * bartlett[j * r + k] }  // Rᵀ[k, j] = R[j, k]
    }
    let product = scratch.buffer(.residualProduct, count: n * width, of: Float.self)  // n × width, token order
    operand.times(m, columns: width, into: product)
    // [F + s·L_Y·Ξ_Ω | s·L_Y·Rᵀ] in token order, n × (n + r).
    let wide = n + r
    let current = scratch.buffer(.residualCoordinates, count: n * (n + 1), of: Float.self)
    writeCoordinates(to: current)
    let next = scratch.buffer(.residualFactor, count: n * wide, of: Float.self)
    for i in 0..<n {
      for k in 0..<n { next[i * wide + k] = current[i * (n + 1) + 1 + k] + product[i * width + 1 + k] }
      for k in 0..<r { next[i * wide + n + k] = product[i * width + 1 + n + k] }
    }
    for i in 0..<n { alongOnes[i] += product[i * width] }
    // The factor's Gram matrix, factored, then X·Xᵀ = it + a·aᵀ, all in this state's own arrays.
    gram.withUnsafeMutableBufferPointer { g in
      gramMatrix(rows: n, columns: wide, x: next, ldx: wide, gram: g.baseAddress!, ldg: max(1, n))
      rank = lower.withUnsafeMutableBufferPointer { l in
        order.withUnsafeMutableBufferPointer { ProjectionOperand.factor(g.baseAddress!, rows: n, lower: l.baseAddress!, order: $0.baseAddress!) }
      }
      for i in 0..<n {
        for j in 0..<n { g[i * n + j] += Double(alongOnes[i]) * Double(alongOnes[j]) }
      }
    }
  }

  /// The block's norm with γ = 1, β = 0 on every token: LayerNorm centres
  /// along u (a = 0) and divides by √(‖F_i‖²/d + ε); RMSNorm divides a and F's
  /// row by √((a_i² + ‖F_i‖²)/d + ε).
  /// The Gram matrix follows without a product: LayerNorm's is S·F·Fᵀ·S =
  /// S·(X·Xᵀ − a·aᵀ)·S, RMSNorm's S·X·Xᵀ·S, with S the rows' scales.
  mutating func normalize(_ kind: NormKind, modelDimension d: Int, eps: Float) {
    let n = rows
    // A token's squared norm (LayerNorm: of its centred row F_i) from the diagonal.
    let scales = SampleScratch.current.buffer(.normScales, count: n, of: Double.self)
    for token in 0..<n {
      let a = Double(alongOnes[token])
      let squares = gram[token * n + token] - (kind == .layer ? a * a : 0)
      scales[token] = 1 / (squares / Double(d) + Double(eps)).squareRoot()
    }
    for i in 0..<n {
      let ai = kind == .layer ? Double(alongOnes[i]) : 0
      for j in 0..<n {
        let aj = kind == .layer ? Double(alongOnes[j]) : 0
        gram[i * n + j] = scales[i] * scales[j] * (gram[i * n + j] - ai * aj)
      }
    }
    for j in 0..<n {
      let scale = Float(scales[order[j]])
      for k in 0..<n { lower[j * n + k] *= scale }
    }
    for token in 0..<n { alongOnes[token] = kind == .layer ? 0 : alongOnes[token] * Float(scales[token]) }
  }
}

/// [u | Ω]ᵀ ((n + 1) × d, row-major): row 0 is u = 1_d/√d, rows 1…n are Ωᵀ,
/// n orthonormal rows orthogonal to 1_d, Haar distributed (the Q of the QR
/// factors, with R's diagonal positive, of a Gaussian d × n matrix
/// projected off 1_d). One per sample, in per-thread scratch (valid until
/// the next call on this thread).
func haarFrameOrthogonalToOnes(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> UnsafePointer<Float> {
  let n = c.sequenceLength, d = c.modelDimension
  let scratch = SampleScratch.current
  let z = scratch.buffer(.haarGaussian, count: d * n, of: Float.self)
  sampleStream(seed: seed, sample: sample, layer: 0, .onesComplementFrame).fillNormal(z, count: d * n)
  // Project each column off u = 1/√d: subtract its mean.
  for k in 0..<n {
    var mean = 0.0
    for i in 0..<d { mean += Double(z[i * n + k]) }
    let shift = Float(mean / Double(d))
    for i in 0..<d { z[i * n + k] -= shift }
  }
  let q = scratch.buffer(.haarQ, count: d * n, of: Float.self), r = scratch.buffer(.haarR, count: n * n, of: Float.self)
  householderQR(m: d, n: n, a: z, lda: n, r: r, ldr: n, q: q, ldq: n)
  // Transpose to n × d below u so that [a | F]·[u | Ω]ᵀ is a row-major product.
  let out = scratch.buffer(.haarFrame, count: (n + 1) * d, of: Float.self)
  let inverseRoot = 1 / Float(d).squareRoot()
  for i in 0..<d { out[i] = inverseRoot }
  for i in 0..<d { for k in 0..<n { out[(k + 1) * d + i] = q[i * n + k] } }
  return UnsafePointer(out)
}

/// The Gram engine's per-thread states, kept between samples so that a
/// sample reuses the arrays of the one before.
final class GramWorkspace {
  struct States {
    /// The sample's input, each variant's state, and the norm of a state that a step reads.
    var input = GramState(), variants: [GramState] = [], normed = GramState()
  }
  var states = States()
  /// Biases and norm parameters are zero and one here; the layers' weights
  /// carry nothing the projector does not draw itself.
  let noWeights = LayerWeights(modelDimension: 0, feedForwardDimension: 0)

  /// The calling thread's workspace.
  static var current: GramWorkspace { gramWorkspace.value }
}

private let gramWorkspace = ThreadLocal { GramWorkspace() }
