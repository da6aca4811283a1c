/// The arithmetic and random numbers of one mc-generic sample, counted from
/// the configuration alone (no run needed), by the kernels they go to.
///
/// Counts follow the engines' code paths: the dense engine draws each layer's
/// weights once for all variants and multiplies every variant's activations
/// by them; the sketch engine factors each activation's Float64 Gram matrix
/// (pivoted Cholesky) and multiplies the triangular factor by fresh
/// Gaussians. Metrics (rank method `gram`) are one Gram matrix and one
/// tridiagonal reduction per state, plus a second reduction for the affine
/// rank of variants without residual connections (with them the state has
/// full row rank and interlacing decides, see `affineRankFromGram`).
/// Elementwise work (LayerNorm, GELU, softmax) is left out: under 5 % at
/// every n measured.
public struct SampleWork: Sendable, Equatable {
  /// Float32 multiply-adds of products: SGEMM, triangular products, attention.
  public var float32MultiplyAdds = 0.0
  /// Float64 multiply-adds of Gram matrices (X·Xᵀ, symmetric: half of n²·k).
  public var gramMultiplyAdds = 0.0
  /// Float64 multiply-adds of pivoted Cholesky factorisations (n³/6 each).
  public var choleskyMultiplyAdds = 0.0
  /// Float64 multiply-adds of tridiagonal reductions ((2/3)·n³ each).
  public var tridiagonalMultiplyAdds = 0.0
  /// Random numbers drawn (normals, and uniforms for uniform weights).
  public var randomNumbers = 0.0

  /// FLOPs in Float32 (2 per multiply-add).
  public var float32FLOPs: Double { 2 * float32MultiplyAdds }
  /// FLOPs in Float64 (2 per multiply-add).
  public var float64FLOPs: Double { 2 * (gramMultiplyAdds + choleskyMultiplyAdds + tridiagonalMultiplyAdds) }

  /// The time these FLOPs take at a Float32 rate of `sgemmFLOPRate` FLOP/s
  /// and Float64 at half of it (the vector width halves): the machine's limit
  /// for this sample, random numbers not included.
  public func limitSeconds(sgemmFLOPRate: Double) -> Double {
    float32FLOPs / sgemmFLOPRate + float64FLOPs / (sgemmFLOPRate / 2)
  }

  /// Estimated seconds on one thread of the machine the rates were measured
  /// on (`KernelRates.zen3`), each kernel at its own rate.
  public func estimatedSeconds(rates: KernelRates = .zen3) -> Double {
    float32MultiplyAdds / rates.float32MultiplyAdds + gramMultiplyAdds / rates.gramMultiplyAdds
      + choleskyMultiplyAdds / rates.choleskyMultiplyAdds + tridiagonalMultiplyAdds / rates.tridiagonalMultiplyAdds
      + randomNumbers / rates.randomNumbers
  }
}

/// Single-thread rates per second of the kernels `SampleWork` counts.
public struct KernelRates: Sendable {
  public var float32MultiplyAdds, gramMultiplyAdds, choleskyMultiplyAdds, tridiagonalMultiplyAdds, randomNumbers: Double

  /// Measured with kernel-compare on the AMD EPYC Zen 3 development VM
  /// (2026-12-01, one thread): SGEMM at BERT shapes ≈ 90 GFLOP/s, Float64
  /// Gram matrices ≈ 42 GFLOP/s, pivoted Cholesky ≈ 6 GFLOP/s, tridiagonal
  /// reduction ≈ 10 GFLOP/s (7 at n = 128, 14 at n = 512), normals
  /// ≈ 0.75 G/s. Ratios, not absolute values, decide the engine, and they
  /// carry over between x86-64 machines with AVX2.
  public static let zen3 = KernelRates(
    float32MultiplyAdds: 45e9, gramMultiplyAdds: 21e9, choleskyMultiplyAdds: 3e9, tridiagonalMultiplyAdds: 5e9,
    randomNumbers: 0.75e9)
}

extension SampleWork {
  /// The work of one sample of `engine` (dense, sketch or gram).
  public init(engine: EngineKind, configuration c: ModelConfiguration) {
    if engine == .gram && c.sequenceLength <= c.modelDimension {
      self.init(gramEngineConfiguration: c)
      return
    }
    self.init()
    let n = Double(c.sequenceLength), d = Double(c.modelDimension), dff = Double(c.feedForwardDimension)
    let layers = Double(c.layers), kv = Double(c.keyValueWidth)
    // SwiGLU multiplies the MLP input by two matrices.
    let mlpInputProducts = c.activation == .swiglu ? 2.0 : 1.0
    let sketch = engine == .sketch && c.sequenceLength <= c.modelDimension
    let needsMLP = c.variants.contains(where: \.mlp)
    func gram(_ rows: Double, _ columns: Double) -> Double { rows * rows * columns / 2 }
    let reduction = 2 * n * n * n / 3, cholesky = n * n * n / 6
    // The input and its metrics (shared by all variants).
    randomNumbers += n * d
    // Rank method `gram` (n ≤ d): a Gram matrix and a reduction per state.
    let gramMetrics = c.rankMethod == .gram && c.sequenceLength <= c.modelDimension
    let metricsPerState = gramMetrics ? gram(n, d) : 0
    if gramMetrics { tridiagonalMultiplyAdds += reduction }
    gramMultiplyAdds += metricsPerState
    if !sketch {
      // Dense weights, once per layer; the sketch at n > d draws them per variant.
      let weights = layers * (2 * d * d + 2 * d * kv + (needsMLP ? (1 + mlpInputProducts) * d * dff : 0))
      randomNumbers += engine == .sketch ? Double(c.variants.count) * weights : weights
    }
    for variant in c.variants {
      var f32 = 0.0, grams = 0.0, factors = 0.0, normals = 0.0
      if sketch {
        // Factor of the attention input: its Gram matrix is the state's,
        // except after a pre-LN.
        if variant.preLayerNorm { grams += gram(n, d) }
        factors += 1
        let attention = SampleWork.sampledAttention(c)
        normals += attention.normals
        f32 += attention.float32
        grams += attention.grams
        factors += 1
        normals += n * d
        f32 += n * n * d / 2
        if variant.mlp {
          grams += gram(n, d) + gram(n, dff)
          factors += 2
          normals += mlpInputProducts * n * dff + n * d
          f32 += mlpInputProducts * n * n * dff / 2 + n * n * d / 2
        }
      } else {
        f32 += 2 * n * d * d + 2 * n * d * kv + 2 * n * n * d
        if variant.mlp { f32 += (1 + mlpInputProducts) * n * d * dff }
      }
      float32MultiplyAdds += layers * f32
      gramMultiplyAdds += layers * (grams + metricsPerState)
      choleskyMultiplyAdds += layers * factors * cholesky
      randomNumbers += layers * normals
      if gramMetrics {
        tridiagonalMultiplyAdds += layers * reduction * (variant.residual ? 1 : 2)
      }
    }
  }
}

extension SampleWork {
  /// The attention sublayer of the sketch and Gram engines up to the heads'
  /// outputs, per variant and layer: with the Bartlett shortcut, score
  /// factors, query and value products on n × n blocks per head, attention at
  /// head width n, and the Gram matrix of the n × H·n outputs; otherwise
  /// explicit Q, K, V products from the factor and the n × d outputs' Gram matrix.
  static func sampledAttention(_ c: ModelConfiguration) -> (normals: Double, float32: Double, grams: Double) {
    let n = Double(c.sequenceLength), d = Double(c.modelDimension), heads = Double(c.heads), kv = Double(c.keyValueWidth)
    if c.sequenceLength <= c.headDimension && !c.randomBiases && c.rotaryDimensions == 0 && c.keyValueHeads == c.heads {
      return (heads * n * n + heads * n * (n + 1), 5 * heads * n * n * n, n * n * heads * n / 2)
    }
    return (n * (d + 2 * kv), n * n * (d + 2 * kv) / 2 + 2 * n * n * d, n * n * d / 2)
  }

  /// The Gram engine's work: per state a Gram matrix of [a | F] (n × (n + 1))
  /// and a factor; per residual product n + n² normals, a Bartlett factor and
  /// an n × (1 + 2n) triangular product; the attention sublayer as the
  /// sketch's; the MLP's hidden layer as the sketch's; and the metrics'
  /// entries [a | F]·[u | Ω]ᵀ (n × (n + 1) × d) from one Haar frame per
  /// sample. Each state's Gram matrix is carried, not recomputed: only the
  /// residual sums and the heads' and MLP's outputs form one.
  init(gramEngineConfiguration c: ModelConfiguration) {
    self.init()
    let n = Double(c.sequenceLength), d = Double(c.modelDimension), dff = Double(c.feedForwardDimension)
    let layers = Double(c.layers)
    let mlpInputProducts = c.activation == .swiglu ? 2.0 : 1.0
    func gram(_ rows: Double, _ columns: Double) -> Double { rows * rows * columns / 2 }
    let reduction = 2 * n * n * n / 3, cholesky = n * n * n / 6
    let bartlett = n * (n + 1) / 2 + 4 * n
    // Input (a and a Bartlett factor) and the Haar frame (d × n normals, QR).
    randomNumbers += n + bartlett + d * n
    float32MultiplyAdds += 2 * d * n * n
    gramMultiplyAdds += gram(n, n + 1) + gram(n, d)
    tridiagonalMultiplyAdds += reduction
    float32MultiplyAdds += n * (n + 1) * d
    let residualAdd = (normals: n + n * n + bartlett, f32: n * n * (1 + 2 * n) / 2, grams: gram(n, 2 * n))
    for variant in c.variants {
      var f32 = 0.0, grams = 0.0, factors = 0.0, normals = 0.0
      factors += 1
      let attention = SampleWork.sampledAttention(c)
      normals += attention.normals
      f32 += attention.float32
      grams += attention.grams
      factors += 2
      normals += residualAdd.normals
      f32 += residualAdd.f32
      grams += residualAdd.grams
      if variant.mlp {
        grams += gram(n, dff) + residualAdd.grams
        factors += 3
        normals += mlpInputProducts * n * dff + residualAdd.normals
        f32 += mlpInputProducts * n * n * dff / 2 + residualAdd.f32
      }
      // Metrics: the entries [a | F]·[u | Ω]ᵀ.
      f32 += n * (n + 1) * d
      float32MultiplyAdds += layers * f32
      gramMultiplyAdds += layers * grams
      choleskyMultiplyAdds += layers * factors * cholesky
      randomNumbers += layers * normals
      tridiagonalMultiplyAdds += layers * reduction * (variant.residual ? 1 : 2)
    }
  }
}

/// Why `engine` would not be exact in distribution for `c`, or nil when it
/// is (the dense engine always is).
public func inexactReason(of engine: EngineKind, for c: ModelConfiguration) -> String? {
  switch engine {
  case .dense, .measure: nil
  case .sketch: sketchInexactReason(c)
  case .gram: gramInexactReason(c)
  }
}

/// Why the sketch engine would not be exact in distribution for `c`, or nil
/// when it is: it needs every weight matrix Gaussian and fresh (independent
/// of everything before it).
public func sketchInexactReason(_ c: ModelConfiguration) -> String? {
  if c.weightDistribution != .gaussian {
    return "the sketch needs Gaussian weights (--weight-distribution \(c.weightDistribution.rawValue))"
  }
  if let groups = c.block.sharedLayerGroups, groups < c.layers {
    return "the sketch needs fresh weights in every layer, and \(c.layers) layers share \(groups) group\(groups == 1 ? "" : "s") of weights (--shared-layers)"
  }
  return nil
}

/// The engine mc-generic runs when `--engine` is not given: of the engines
/// exact for the configuration, whichever `SampleWork` estimates fastest,
/// and one line saying why. The sketch needs Gaussian weights, the Gram
/// engine more (``gramInexactReason(_:)``); trained checkpoints always run
/// dense. The choice depends on the configuration only, never on a timing,
/// so a resumed or sharded run makes the same one.
public func defaultEngine(for c: ModelConfiguration) -> EngineChoice {
  if let why = sketchInexactReason(c) { return EngineChoice(kind: .dense, reason: "engine dense: \(why)") }
  let candidates: [EngineKind] = gramInexactReason(c) == nil ? [.gram, .sketch, .dense] : [.sketch, .dense]
  let estimates = candidates.map { (kind: $0, seconds: SampleWork(engine: $0, configuration: c).estimatedSeconds()) }
  var ranked = estimates.sorted { $0.seconds < $1.seconds }  // stable: ties keep the order above
  // The model overstates the Gram engine's lead (it leaves out the
  // elementwise work and the allocations): estimated 1.49×, 1.10× and 0.99×
  // the sketch at n = 16, 64 and 128, measured 1.2–1.3×, 1.04–1.08× and
  // 0.99–1.01× (Zen 3, PERF.md). It takes the lead only with a 5 % margin.
  let margin = 1.05
  if ranked[0].kind == .gram, let sketch = ranked.firstIndex(where: { $0.kind == .sketch }),
    ranked[sketch].seconds < margin * ranked[0].seconds
  {
    ranked.swapAt(0, sketch)
  }
  let (kind, seconds) = ranked[0], runnerUp = ranked[1]
  // Sorted by estimate, so a runner-up estimated faster was passed over by the margin.
  let keptByMargin = runnerUp.seconds < seconds
  let why: String
  switch kind {
  case .gram: why = "it keeps every state in the n-dimensional Gram space of its tokens"
  case .sketch: why = "its products grow like n² and need no weight matrices"
  default: why = "at n = \(c.sequenceLength) against d = \(c.modelDimension) n × n factors and Gram matrices cost more than the weights they replace"
  }
  let gramNote = gramInexactReason(c).map { "; gram is not exact here: \($0)" } ?? ""
  let comparison =
    keptByMargin
    ? "and \(runnerUp.kind) \(formatSeconds(runnerUp.seconds)) (within the \(Int((margin - 1) * 100)) % margin the cost model needs against the Gram engine)"
    : "\(String(format: "%.2f", runnerUp.seconds / seconds))× faster than \(runnerUp.kind) (\(formatSeconds(runnerUp.seconds)))"
  return EngineChoice(
    kind: kind,
    reason: "engine \(kind): estimated \(formatSeconds(seconds)) per sample per thread, \(comparison): \(why)\(gramNote); --engine forces one"
  )
}

/// The default engine for a configuration and the one line that says why.
public struct EngineChoice: Sendable {
  public var kind: EngineKind
  public var reason: String
  public var name: String { kind.rawValue }
}

private func formatSeconds(_ seconds: Double) -> String {
  seconds < 1 ? String(format: "%.0f ms", seconds * 1e3) : String(format: "%.2f s", seconds)
}
