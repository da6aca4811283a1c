@testable import CollapseLab
import Foundation
import Testing

func roundedToSignificantDigits(_ x: Double, _ digits: Int) -> Double {
  guard x.isFinite, x != 0 else { return x }
  let scale = pow(10, Double(digits - 1) - floor(log10(abs(x))))
  return (x * scale).rounded() / scale
}

/// Two-sample Kolmogorov–Smirnov statistic.
func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> Double {
  let x = a.sorted(), y = b.sorted()
  var i = 0, j = 0, statistic = 0.0
  while i < x.count && j < y.count {
    let value = min(x[i], y[j])
    while i < x.count && x[i] <= value { i += 1 }
    while j < y.count && y[j] <= value { j += 1 }
    statistic = max(statistic, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
  }
  return statistic
}

@Suite("Sketch engine agrees in distribution with the dense engine")
struct SketchEngineTests {
  /// L=3, d=64, H=4, d_ff=256, n=8: small enough for debug builds.
  static var configuration: ModelConfiguration {
    var c = ModelConfiguration()
    c.layers = 3; c.modelDimension = 64; c.heads = 4; c.feedForwardDimension = 256; c.sequenceLength = 8
    // PG-OP's gates go through both attention paths of the sketch engine: the
    // Bartlett shortcut (`attn+pgop`) and, with the MLP, the same shortcut
    // after post-LN states.
    c.variants = Variant.defaults + ["attn+pgop", "attn+res+ln+mlp+pgop"].map { try! Variant(parsing: $0) }
    return c
  }
  static let samples = 240

  /// Per (variant, layer, metric): the sample values at Float32-meaningful
  /// resolution. Collapsed rows are bitwise identical after dense products
  /// (residual ratio exactly 0, trailing singular values exactly 0) but carry
  /// LQ round-off of order u·‖X‖ under the sketch (ratio ~1e-8, effective rank
  /// 1 + 1e-6); both mean "collapsed" and no Float32 computation resolves the
  /// difference. So ratios are floored at 1e-5 (log10 ratios at −5) and every
  /// value is rounded to 4 significant digits.
  static func values(_ engine: any ForwardEngine, seed: UInt64, configuration c: ModelConfiguration = configuration) -> [[Double]] {
    var table = [[Double]](repeating: [], count: c.variants.count * (c.layers + 1) * Metric.allCases.count)
    for sample in 0..<samples {
      let result = engine.run(sample: UInt64(sample), configuration: c, seed: seed)
      for v in result.indices {
        for layer in result[v].indices {
          for (m, metric) in Metric.allCases.enumerated() {
            var x = result[v][layer].values[m]
            switch metric {
            case .residualRatio, .dongRatio: x = max(x, 1e-5)
            case .log10SigmaRatio: x = max(x, -5)
            default: break
            }
            x = roundedToSignificantDigits(x, 4)
            table[(v * (c.layers + 1) + layer) * Metric.allCases.count + m].append(x)
          }
        }
      }
    }
    return table
  }

  /// Largest KS statistic over every (variant, layer ≥ 1, metric), and where.
  static func worstStatistic(_ a: [[Double]], _ b: [[Double]], configuration c: ModelConfiguration = configuration) -> (Double, String) {
    var worst = (0.0, "")
    for (index, (x, y)) in zip(a, b).enumerated() {
      let layer = (index / Metric.allCases.count) % (c.layers + 1)
      if layer == 0 || x.contains(where: \.isNaN) { continue }  // the input is identical by construction
      let d = kolmogorovSmirnov(x, y)
      if d > worst.0 {
        let v = index / (Metric.allCases.count * (c.layers + 1))
        worst = (d, "\(c.variants[v]) layer \(layer) \(Metric.allCases[index % Metric.allCases.count].rawValue)")
      }
    }
    return worst
  }

  /// Critical value of the two-sample KS test at α = 1e-5 per comparison
  /// (≈ 200 comparisons: family-wise false alarm ≈ 0.2 %):
  /// c(α)·√(2/n) with c(α) = √(−ln(α/2)/2) = 2.47.
  static let critical = (-log(1e-5 / 2) / 2).squareRoot() * (2.0 / Double(samples)).squareRoot()

  #if DEBUG
  static let optimized = false
  #else
  static let optimized = true
  #endif

  /// The same test at L=2, d=32, H=4, d_ff=64, n=6: small enough for the
  /// debug suite (`swift test`), so the statistical check runs there too.
  static var debugConfiguration: ModelConfiguration {
    var c = configuration
    c.layers = 2; c.modelDimension = 32; c.feedForwardDimension = 64; c.sequenceLength = 6
    return c
  }

  /// 3 × 240 forward passes at d = 64 take 0.6 s optimised but 100 s in a
  /// debug build: the debug suite runs ``debugConfiguration`` instead, release
  /// (CI: `swift test -c release -Xswiftc -enable-testing --filter
  /// SketchEngineTests`) runs both.
  @Test(arguments: optimized ? [debugConfiguration, configuration] : [debugConfiguration])
  func everyMetricAgreesAndAVarianceBugIsCaught(configuration c: ModelConfiguration) throws {
    try Self.expectAgreesWithDense(
      SketchEngine(), wrong: SketchEngine(varianceScaleForTesting: 1.25), seed: 21, configuration: c, name: "d=\(c.modelDimension)")
  }

  /// `engine` against the dense engine on every (variant, layer, metric) at
  /// the KS critical value, and the negative control: `wrong` (every weight's
  /// standard deviation 1.25× too large) must fail the same test.
  static func expectAgreesWithDense(
    _ engine: any ForwardEngine, wrong: any ForwardEngine, seed: UInt64, configuration c: ModelConfiguration, name: String
  ) throws {
    try c.validate()
    let dense = values(DenseEngine(), seed: seed, configuration: c)
    let sampled = values(engine, seed: seed, configuration: c)
    let (statistic, location) = worstStatistic(dense, sampled, configuration: c)
    #expect(statistic < critical, "\(name): KS \(statistic) ≥ \(critical) at \(location)")
    let scaled = values(wrong, seed: seed, configuration: c)
    let (badStatistic, badLocation) = worstStatistic(dense, scaled, configuration: c)
    #expect(badStatistic > critical, "\(name): a 1.25× scale error went undetected (KS \(badStatistic) at \(badLocation))")
  }

  /// The blocks of the architecture presets at L=3, d=64, H=4, d_ff=128, n=8,
  /// each component the sketch covers: causal and window masks, pre and
  /// parallel norms, RMSNorm, final norms, GPT-2's depth-scaled projections,
  /// grouped-query heads, RoPE (full and partial) and SwiGLU.
  static func smallBlock(_ architecture: Architecture) -> ModelConfiguration {
    var c = architecture.configuration
    c.layers = 3; c.modelDimension = 64; c.heads = 4; c.feedForwardDimension = 128; c.sequenceLength = 8
    if architecture == .llama { c.block.keyValueHeads = 2 }
    return c
  }

  /// A named block configuration (the name is what the test log shows).
  struct BlockCase: CustomTestStringConvertible, Sendable {
    var name: String
    var configuration: ModelConfiguration
    var testDescription: String { name }
    init(_ name: String, _ configuration: ModelConfiguration) { self.name = name; self.configuration = configuration }
  }

  static let blocks: [BlockCase] = [
    BlockCase("gpt2", smallBlock(.gpt2)),
    BlockCase("llama", smallBlock(.llama)),
    BlockCase("pythia", smallBlock(.pythia)),
    BlockCase("llama, window:3 mask, n = 32 > d_k (no attention shortcut)", {
      var c = smallBlock(.llama)
      c.sequenceLength = 32
      c.block.mask = .window(3)
      return c
    }()),
    BlockCase("gpt2, window:4 mask, through the attention shortcut", {
      var c = smallBlock(.gpt2)
      c.block.mask = .window(4)
      return c
    }()),
  ]

  @Test(.enabled(if: optimized, "statistical comparison runs in release builds (see .ci/run)"), arguments: blocks)
  func everyBlockAgreesAndAVarianceBugIsCaught(_ block: BlockCase) throws {
    try Self.expectAgreesWithDense(
      SketchEngine(), wrong: SketchEngine(varianceScaleForTesting: 1.25), seed: 23, configuration: block.configuration, name: block.name)
  }
}
