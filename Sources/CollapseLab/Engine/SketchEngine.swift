import RankKernels

/// The exact-in-distribution engine for Gaussian weights: it never forms a
/// weight matrix.
///
/// For W (k × m) with iid N(0, s²) entries, independent of the activations
/// Y (n × k, n ≤ k), the columns of Y·W are independent N(0, s²·Y·Yᵀ). So is
/// F·G for any F with F·Fᵀ = Y·Yᵀ and a fresh n × m Gaussian G: each product
/// is sampled as F·G with O(n²·k + n²·m) work and n·m random numbers instead
/// of O(n·k·m) and k·m. (The LQ factor L of Y = L·Q is one such F; the engine
/// takes the pivoted Cholesky factor of the Float64 Gram matrix Y·Yᵀ, which
/// is several times cheaper and stays stable when Y is rank-deficient, and
/// whose Gram matrix the rank metrics need anyway.) Every weight matrix of the
/// forward pass is fresh and independent of everything before it, so the
/// whole pass has the same joint law as the dense one (for n > k the product
/// is formed densely from a drawn W, which is already cheap).
///
/// Variants cannot share weights here (each has its own activations, hence its
/// own Q), so each variant draws its own G's: per-variant distributions are
/// exact, but variants are not paired within a sample as in the dense engine.
/// Input, biases and LayerNorm parameters are drawn as in `DenseEngine`.
public struct SketchEngine: InPlaceForwardEngine {
  /// Multiplies the standard deviation of every G; 1 except in the test that
  /// shows a wrong variance scaling is detected.
  let varianceScaleForTesting: Float

  public init() { varianceScaleForTesting = 1 }
  init(varianceScaleForTesting: Float) { self.varianceScaleForTesting = varianceScaleForTesting }

  public var kind: EngineKind { .sketch }

  /// ``run(sample:configuration:seed:)`` written to `results`, in the
  /// thread's `EncoderWorkspace` (no allocation after a warm-up sample,
  /// without random biases or norm parameters).
  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, into results: SampleMetrics) {
    precondition(c.weightDistribution == .gaussian, "the sketch engine needs Gaussian weights")
    let weights = EncoderWorkspace.current.weights
    weights.forgetDrawnGroup()
    runEncoder(sample: sample, configuration: c, seed: seed, projectorUsesGram: true, into: results) { layer in
      weights.draw(sample: sample, layer: layer, configuration: c, seed: seed, includeMatrices: false, includeMLP: false)
      return (weights, { variant in
        SketchProjector(
          sample: sample, layer: layer, variant: variant, seed: seed, configuration: c, varianceScale: varianceScaleForTesting)
      })
    }
  }
}

struct SketchProjector: WeightProjector {
  let sample: UInt64, layer: Int, variant: Int, seed: UInt64
  let configuration: ModelConfiguration
  /// Multiplies every standard deviation (1 outside the negative-control test).
  let varianceScale: Float
  /// Gamma tries drawn in bulk per chi variate of a Bartlett factor (`bartlettFactors`).
  var gammaTries = 4
  /// σ of the layer's query, key and value weights (the attention shortcut's s).
  var scale: Float { configuration.weightScale * varianceScale }

  func prepare(_ y: [Float], rows n: Int, gram: [Double]?) -> ProjectionOperand {
    let k = y.count / n
    if n > k { return ProjectionOperand(matrix: y, rows: n) }
    if let gram { return ProjectionOperand(factoring: gram, rows: n) }
    return y.withUnsafeBufferPointer { ProjectionOperand(factoringRowsOf: $0.baseAddress!, rows: n, columns: k) }
  }

  /// ``prepare(_:rows:gram:)`` for Y (n × k) in memory the caller owns:
  /// the factor's arrays come from `RecycledArrays`, so nothing is allocated
  /// unless n > k (Y itself is then the operand, copied).
  func prepare(_ y: UnsafePointer<Float>, rows n: Int, columns k: Int) -> ProjectionOperand {
    if n > k { return ProjectionOperand(matrix: Array(UnsafeBufferPointer(start: y, count: n * k)), rows: n) }
    return ProjectionOperand(factoringRowsOf: y, rows: n, columns: k)
  }

  /// This variant's stream for one purpose. The variant goes in the top bits:
  /// streams disjoint from the dense engine's and from other variants'
  /// (`sampleStream` keeps sample bits out of the tag bits).
  func stream(_ purpose: StreamPurpose) -> RandomStream {
    sampleStream(seed: seed, sample: sample, layer: layer, purpose, tag: UInt64(variant + 1))
  }

  func project(_ operand: ProjectionOperand, columns m: Int, purpose: StreamPurpose) -> [Float] {
    uninitializedFloats(operand.rows * m) { project(operand, columns: m, purpose: purpose, into: $0) }
  }

  func project(_ operand: ProjectionOperand, columns m: Int, purpose: StreamPurpose, into product: UnsafeMutablePointer<Float>) {
    let stream = stream(purpose)
    // n × m Gaussian G for a factor, or the k × m weight matrix itself when
    // the operand is Y (n > k). A rank-r factor meets only G's first r rows
    // (the stream's first r·m numbers): the same product, bit for bit, as
    // with all n rows drawn, for r/n of the random numbers and work.
    let inner = operand.nonzeroColumns
    let std = configuration.weightScale(for: purpose) * varianceScale
    let gaussian = SampleScratch.current.buffer(.projectionGaussians, count: inner * m, of: Float.self)
    stream.fillNormal(gaussian, count: inner * m, standardDeviation: std)
    operand.times(gaussian, columns: m, into: product)
  }
}
