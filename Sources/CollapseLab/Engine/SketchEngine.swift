import RankKernels

/// The exact-in-distribution engine for Gaussian weights: it never forms a
/// weight matrix.
///
/// For W (k × m) with iid N(0, s²) entries, independent of the activations
/// Y (n × k, n ≤ k): Y = L·Q (LQ factorisation, Q with orthonormal rows), so
/// Y·W = L·(Q·W) and Q·W has iid N(0, s²) entries. Each product is therefore
/// sampled as L·G with a fresh n × m Gaussian G: O(n²·k + n²·m) work and n·m
/// random numbers instead of O(n·k·m) and k·m. Every weight matrix of the
/// forward pass is fresh and independent of everything before it, so the whole
/// pass has the same joint law as the dense one (for n > k the product is
/// formed densely from a drawn W, which is already cheap).
///
/// Variants cannot share weights here (each has its own activations, hence its
/// own Q), so each variant draws its own G's: per-variant distributions are
/// exact, but variants are not paired within a sample as in the dense engine.
/// Input, biases and LayerNorm parameters are drawn as in `DenseEngine`.
public struct SketchEngine: ForwardEngine {
  /// Multiplies the standard deviation of every G; 1 except in the test that
  /// shows a wrong variance scaling is detected.
  let varianceScaleForTesting: Float

  public init() { varianceScaleForTesting = 1 }
  init(varianceScaleForTesting: Float) { self.varianceScaleForTesting = varianceScaleForTesting }

  public var name: String { "sketch" }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    precondition(c.weightDistribution == .gaussian, "the sketch engine needs Gaussian weights")
    let weights = LayerWeights(modelDimension: c.modelDimension, feedForwardDimension: 0)
    return runEncoder(sample: sample, configuration: c, seed: seed) { layer in
      weights.draw(sample: sample, layer: layer, configuration: c, seed: seed, includeMatrices: false, includeMLP: false)
      return (weights, { variant in
        SketchProjector(sample: sample, layer: layer, variant: variant, seed: seed, scale: c.weightScale * varianceScaleForTesting)
      })
    }
  }
}

struct SketchProjector: WeightProjector {
  let sample: UInt64, layer: Int, variant: Int, seed: UInt64, scale: Float

  func project(_ y: [Float], rows n: Int, columns m: Int, purpose: StreamPurpose) -> [Float] {
    let k = y.count / n
    // Variant in the top bits: streams disjoint from the dense engine's and
    // from other variants' (sample indices stay below 2^40).
    let stream = RandomStream(seed: seed, stream: streamID(sample: sample, layer: layer, purpose) | (UInt64(variant + 1) << 56))
    if n > k {
      var w = [Float](repeating: 0, count: k * m)
      w.withUnsafeMutableBufferPointer { stream.fillNormal($0.baseAddress!, count: k * m, standardDeviation: scale) }
      return CollapseLab.project(y, rows: n, w, columns: m)
    }
    var lower = [Float](repeating: 0, count: n * n)
    lower.withUnsafeMutableBufferPointer { l in
      lqLowerFactor(rows: n, columns: k, x: y, ldx: k, l: l.baseAddress!, ldl: n)
    }
    var gaussian = [Float](repeating: 0, count: n * m)
    gaussian.withUnsafeMutableBufferPointer { stream.fillNormal($0.baseAddress!, count: n * m, standardDeviation: scale) }
    return CollapseLab.project(lower, rows: n, gaussian, columns: m)
  }
}
