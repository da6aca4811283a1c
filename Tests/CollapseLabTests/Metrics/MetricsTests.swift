@testable import CollapseLab
import Foundation
import Testing

@Suite("Metrics on hand-made matrices")
struct MetricsTests {
  private func metrics(_ x: [Float], rows: Int, columns: Int, method: RankMethod = .exact) -> MetricValues {
    x.withUnsafeBufferPointer { measure($0.baseAddress!, rows: rows, columns: columns, attentionEntropy: 0.5, rankMethod: method) }
  }

  /// Singular values at or below these fractions of σ₁ are not resolved:
  /// Jacobi treats columns under ~2⁻⁴⁸⁵ of the largest entry as zero; the
  /// Gram route resolves √(d·2⁻⁵³)·σ₁ (here d = 4).
  private static let resolution: [RankMethod: Double] = [.exact: 1e-146, .gram: (4 * Double.ulpOfOne).squareRoot()]

  @Test(arguments: [RankMethod.exact, .gram])
  func identicalTokensHaveRankOneAndAffineRankZero(method: RankMethod) {
    let row: [Float] = [1, -2, 0.5, 3]
    let x = Array([[Float]](repeating: row, count: 5).joined())
    let m = metrics(x, rows: 5, columns: 4, method: method)
    #expect(m[.rank] == 1)
    #expect(m[.affineRank] == 0)
    #expect(m[.residualRatio] == 0)
    #expect(m[.dongRatio] == 0)
    #expect(abs(m[.stableRank] - 1) < 1e-12)
    // Unresolved singular values ρ·σ₁ each add at most ρ·(1 + |ln ρ|) to the
    // entropy of σ/Σσ (three of them here).
    let rho = Self.resolution[method]!
    #expect(abs(m[.effectiveRank] - 1) < max(1e-12, 2 * 3 * rho * (1 + abs(log(rho)))))
    #expect(abs(m[.sigmaMax] - (5 * (1 + 4 + 0.25 + 9)).squareRoot()) < 1e-12)
    #expect(m[.log10SigmaRatio] <= log10(Self.resolution[method]!))  // σ_min = 0 exactly
    #expect(m[.attentionEntropy] == 0.5)
  }

  /// An overflowed or NaN state is flagged; every other metric is NaN, so it
  /// stays out of the moments and cannot read as full rank.
  @Test(arguments: [Float.infinity, -.infinity, .nan])
  func nonFiniteStatesAreFlagged(value: Float) {
    var x: [Float] = [1, 0, 0, 1, 2, 3]
    x[4] = value
    let m = metrics(x, rows: 3, columns: 2)
    #expect(m[.nonFinite] == 1)
    #expect(m[.rank].isNaN && m[.affineRank].isNaN && m[.residualRatio].isNaN && m[.meanAbsCosine].isNaN)
    #expect(metrics([1, 0, 0, 1, 2, 3], rows: 3, columns: 2)[.nonFinite] == 0)
  }

  /// Rows e₁, e₂, e₁ + e₂: |cos| = 0, 1/√2, 1/√2, mean √2/3; a zero row's pairs are skipped.
  @Test(arguments: [RankMethod.exact, .gram])
  func meanAbsoluteCosine(method: RankMethod) {
    let m = metrics([1, 0, 0, 1, -3, -3], rows: 3, columns: 2, method: method)
    #expect(abs(m[.meanAbsCosine] - 2.0.squareRoot() / 3) < 1e-12)
    let withZero = metrics([1, 0, 0, 0, 2, 0], rows: 3, columns: 2, method: method)
    #expect(withZero[.meanAbsCosine] == 1)
  }

  /// Rows e₁, e₂, 2e₃ in R⁴: σ = (2, 1, 1); centred rank 2.
  @Test(arguments: [RankMethod.exact, .gram])
  func scaledUnitVectors(method: RankMethod) {
    let x: [Float] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0]
    let m = metrics(x, rows: 3, columns: 4, method: method)
    #expect(m[.rank] == 3)
    #expect(m[.affineRank] == 2)
    #expect(abs(m[.sigmaMax] - 2) < 1e-14)
    #expect(abs(m[.log10SigmaRatio] - log10(0.5)) < 1e-14)
    #expect(abs(m[.stableRank] - 6.0 / 4.0) < 1e-14)
    // p = (1/2, 1/4, 1/4): entropy = 1.5·ln 2.
    #expect(abs(m[.effectiveRank] - exp(1.5 * log(2.0))) < 1e-12)
    // mean = (1/3, 1/3, 2/3, 0); ‖X − 1·meanᵀ‖_F² = ‖X‖² − 3‖mean‖² = 6 − 3·(6/9) = 4.
    #expect(abs(m[.residualRatio] - (4.0 / 6.0).squareRoot()) < 1e-14)
    // Residual rows (2/3,−1/3,−2/3,0), (−1/3,2/3,−2/3,0), (−1/3,−1/3,4/3,0):
    // max column sum 8/3, max row sum 2; X: max column sum 2, max row sum 2.
    #expect(abs(m[.dongRatio] - ((8.0 / 3.0 * 2) / (2.0 * 2)).squareRoot()) < 1e-14)
  }

  /// The affine rank is rank − 1 exactly when the ones vector lies in X's
  /// column space (all n = rank rows: full row rank; or X = 1·vᵀ + U·Wᵀ),
  /// else rank. The Gram route decides full rank by interlacing and the rest
  /// by a Sturm count; both must agree with Jacobi on the centred X.
  @Test(arguments: [(7, 7, true), (17, 17, true), (17, 5, true), (17, 5, false), (65, 65, true), (65, 30, true), (65, 1, false)])
  func affineRankFollowsTheOnesVector(shape: (n: Int, rank: Int, onesInColumnSpace: Bool)) {
    let (n, r, ones) = shape, d = 96
    var generator = SplitMix(seed: UInt64(n * 100 + r))
    func gaussian() -> Float { Float.random(in: -1...1, using: &generator) }
    // Columns of U (uniform entries): the ones vector first when it must be in the span.
    var u = (0..<(n * r)).map { _ in gaussian() }
    if ones { for i in 0..<n { u[i * r] = 1 } }
    let w = (0..<(r * d)).map { _ in gaussian() }
    var x = [Float](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { for k in 0..<r { x[i * d + j] += u[i * r + k] * w[k * d + j] } } }
    let expected = r == n || ones ? r - 1 : r
    for method in [RankMethod.exact, .gram] {
      let m = metrics(x, rows: n, columns: d, method: method)
      #expect(m[.rank] == Double(r), "\(method) rank")
      #expect(m[.affineRank] == Double(expected), "\(method) n = \(n), rank \(r), ones in span: \(ones)")
    }
  }

  /// MetricValues keeps its metrics inline: every metric must fit, and each
  /// must read back, through the subscripts and `values`, what was stored.
  @Test func metricValuesHoldEveryMetricInline() {
    #expect(MetricValues.count == Metric.allCases.count)
    #expect(MetricValues.count <= MetricValues.capacity)
    let stored = (0..<MetricValues.count).map { Double($0) * 1.5 - 2 }
    var m = MetricValues(values: stored)
    #expect(m.values == stored)
    for metric in Metric.allCases {
      #expect(m[metric] == stored[metric.index])
      #expect(m[index: metric.index] == stored[metric.index])
    }
    m[.dongRatio] = .nan
    #expect(m[.dongRatio].isNaN && m[.rank] == stored[Metric.rank.index])
  }

  @Test func rankToleranceSeparatesTinySingularValues() {
    // σ = (1, 1e-9): below 1·max(n,d)·ε_f32 ≈ 2.4e-7, so numerical rank 1.
    let x: [Float] = [1, 0, 0, 1e-9]
    let m = metrics(x, rows: 2, columns: 2)
    #expect(m[.rank] == 1)
    #expect(abs(m[.log10SigmaRatio] - log10(1e-9)) < 1e-6)
  }
}

@Suite("Aggregation, results and statistics")
struct AggregationTests {
  @Test func reductionTreeIsIndependentOfInsertionOrder() throws {
    // Values chosen so that floating-point sums depend on order.
    func table(_ block: Int) -> MomentTable {
      var t = MomentTable(count: 1)
      for i in 0..<5 { t.entries[0].add(pow(10, Double((block * 7 + i) % 13)) * 1.000_000_1 + 0.1 * Double(i)) }
      return t
    }
    let blocks = 23
    var ordered = ReductionTree()
    for b in 0..<blocks { try ordered.insert(block: b, table(b)) }
    var shuffled = ReductionTree()
    var generator = SplitMix(seed: 5)
    for b in (0..<blocks).shuffled(using: &generator) { try shuffled.insert(block: b, table(b)) }
    var halves = ReductionTree(), second = ReductionTree()
    for b in 0..<11 { try halves.insert(block: b, table(b)) }
    for b in 11..<blocks { try second.insert(block: b, table(b)) }
    try halves.absorb(second)
    let empty = MomentTable(count: 1)
    let a = ordered.root(totalBlocks: blocks, emptyTable: empty)
    #expect(a != nil)
    #expect(a == shuffled.root(totalBlocks: blocks, emptyTable: empty))
    #expect(a == halves.root(totalBlocks: blocks, emptyTable: empty))
    #expect(ordered.nodes.count <= 5)  // binary-counter representation of 23 blocks
    #expect(throws: ConfigurationError.self) { try ordered.insert(block: 4, table(4)) }
  }

  @Test(arguments: [(0, 100), (5, 100), (3, 20), (19, 20), (50, 1000)])
  func clopperPearsonSolvesTheBinomialTail(successes: Int, trials: Int) {
    let bound = clopperPearsonUpperBound(successes: successes, trials: trials)
    // Direct binomial CDF at the bound, summed in log space: must equal 0.05.
    var cdf = 0.0
    for k in 0...successes {
      let n = Double(trials), j = Double(k)
      let logChoose: Double = lgamma(n + 1) - lgamma(j + 1) - lgamma(n - j + 1)
      let logPowers: Double = j * log(bound) + (n - j) * log(1 - bound)
      let logTerm = logChoose + logPowers
      cdf += exp(logTerm)
    }
    #expect(abs(cdf - 0.05) < 1e-9, "P(X ≤ \(successes)) at \(bound) = \(cdf)")
    #expect(clopperPearsonUpperBound(successes: trials, trials: trials) == 1)
  }

  @Test func variantNamesParseAndRejectNonsense() throws {
    #expect(try Variant(parsing: "attn+res+ln+mlp") == Variant(residual: true, postLayerNorm: true, mlp: true))
    #expect(try Variant(parsing: "attn+mlp+res").description == "attn+res+mlp")
    for bad in ["res", "attn+foo", "attn+ln+preln", "attn+res+res", "attn+"] {
      #expect(throws: ConfigurationError.self) { try Variant(parsing: bad) }
    }
  }

  @Test func configurationErrorsNameTheSetting() {
    var c = ModelConfiguration()
    c.heads = 7
    #expect(throws: ConfigurationError("\(.modelDimension) (768) must be divisible by \(.heads) (7)")) { try c.validate() }
    c = ModelConfiguration(); c.layers = 0
    #expect(throws: ConfigurationError("\(.layers) must be positive, got 0")) { try c.validate() }
    do {
      try c.validate()
    } catch {
      #expect(error.settings == [.layers])
      #expect(error.description == "layers must be positive, got 0")
      #expect(error.message.rendered(naming: { "--" + $0.name }) == "--layers must be positive, got 0")
    }
    c = ModelConfiguration(); c.inputRank = 17
    #expect(throws: ConfigurationError.self) { try c.validate() }
    #expect(throws: ConfigurationError.self) { try Shard(parsing: "3/3") }
    #expect(throws: ConfigurationError.self) { try Shard(parsing: "x") }
  }
}

/// SplitMix64, for a reproducible shuffle in the tests.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
