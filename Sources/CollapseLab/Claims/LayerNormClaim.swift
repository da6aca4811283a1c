import RankKernels

/// Claim 4: LayerNorm preserves affine rank (and matrix rank when β = 0) —
/// generically, with the structured inputs where it does not.
struct LayerNormRankExperiment: Sendable {
  public var samples: Int
  public var tokens = 16
  public var width = 64
  public var seed: UInt64

  public init(samples: Int, seed: UInt64) {
    self.samples = samples
    self.seed = seed
  }

  /// Ranks of X before and after LayerNorm, exact Float64 singular values
  /// at the metrics' default tolerance.
  struct Ranks: Equatable {
    var rankBefore, rankAfter, affineBefore, affineAfter: Int
  }

  /// Ranks of X (rows × width) and of LN(X) with random γ (around 1) and the
  /// given β (nil: β = 0).
  func ranks(_ x: [Float], rows: Int, withBeta: Bool, stream: UInt64) -> Ranks {
    let d = width
    var gamma = [Float](repeating: 0, count: d), beta = [Float](repeating: 0, count: d)
    RandomStream(seed: seed, stream: stream).fillNormal(&gamma, count: d, mean: 1, standardDeviation: 0.2)
    RandomStream(seed: seed, stream: stream ^ 1).fillNormal(&beta, count: d, standardDeviation: 0.5)
    var y = x
    y.withUnsafeMutableBufferPointer { out in
      x.withUnsafeBufferPointer { input in
        layerNorm(
          rows: rows, columns: d, input: input.baseAddress!, gamma: gamma, beta: withBeta ? beta : nil,
          eps: 0, output: out.baseAddress!)
      }
    }
    func measured(_ m: [Float]) -> MetricValues {
      m.withUnsafeBufferPointer { measure($0.baseAddress!, rows: rows, columns: d, attentionEntropy: .nan, rankMethod: .exact) }
    }
    let before = measured(x), after = measured(y)
    return Ranks(
      rankBefore: Int(before[.rank]), rankAfter: Int(after[.rank]),
      affineBefore: Int(before[.affineRank]), affineAfter: Int(after[.affineRank]))
  }

  func gaussian(rows: Int, stream: UInt64) -> [Float] {
    var x = [Float](repeating: 0, count: rows * width)
    RandomStream(seed: seed, stream: stream).fillNormal(&x, count: x.count)
    return x
  }

  /// The structured inputs, each with the ranks it produces.
  func counterexamples() -> [(name: String, ranks: Ranks, withBeta: Bool)] {
    let n = tokens, d = width
    var results: [(String, Ranks, Bool)] = []
    // (a) Row 1 = 2.5·row 0 + 0.7·1: LN maps both to the same row.
    var scaled = gaussian(rows: n, stream: 101)
    for j in 0..<d { scaled[d + j] = 2.5 * scaled[j] + 0.7 }
    results.append(("x₁ = 2.5·x₀ + 0.7·1 (positive scale and shift of one token)", ranks(scaled, rows: n, withBeta: false, stream: 201), false))
    // (b) Three tokens on an affine line not through 0 (affine rank 1):
    // normalised one by one they leave the line.
    let base = gaussian(rows: 2, stream: 102)
    var line = [Float](repeating: 0, count: 3 * d)
    for (i, t) in [Float(-1), 0.5, 2].enumerated() { for j in 0..<d { line[i * d + j] = base[j] + t * base[d + j] } }
    results.append(("three collinear tokens p + t·q, t ∈ {−1, ½, 2}", ranks(line, rows: 3, withBeta: true, stream: 202), true))
    // (c) More tokens than features: LN rows (β = 0) lie in γ ⊙ 1⊥.
    let many = gaussian(rows: d + 16, stream: 103)
    results.append(("\(d + 16) tokens of width \(d) (n > d)", ranks(many, rows: d + 16, withBeta: false, stream: 203), false))
    // (d) [x; x + c·1]: the second copy, shifted, normalises to the first.
    var shifted = gaussian(rows: n, stream: 104)
    for j in 0..<d { shifted[d + j] = shifted[j] + 1.3 }
    results.append(("x₁ = x₀ + 1.3·1", ranks(shifted, rows: n, withBeta: false, stream: 204), false))
    return results
  }

  public func run() -> ClaimSection {
    var affineAgree = 0, rankAgree = 0
    for s in 0..<samples {
      let x = gaussian(rows: tokens, stream: 1000 + UInt64(s))
      let withBeta = ranks(x, rows: tokens, withBeta: true, stream: 5000 + UInt64(s))
      let withoutBeta = ranks(x, rows: tokens, withBeta: false, stream: 9000 + UInt64(s))
      if withBeta.affineBefore == withBeta.affineAfter { affineAgree += 1 }
      if withoutBeta.rankBefore == withoutBeta.rankAfter { rankAgree += 1 }
    }
    func proportion(_ k: Int) -> String {
      let bounds = clopperPearson(successes: k, trials: samples)
      return "\(k)/\(samples) (95 % CI \(String(format4: bounds.lower))–\(String(format4: bounds.upper)))"
    }
    var findings = [
      "Generic inputs (X with iid N(0, 1) entries, \(tokens) tokens × \(width) features, γ ~ N(1, 0.2²), β ~ N(0, 0.5²)):",
      "",
      "| quantity | agreement before/after LayerNorm |",
      "|---|---|",
      "| affine rank (any β) | \(proportion(affineAgree)) |",
      "| matrix rank (β = 0) | \(proportion(rankAgree)) |",
      "",
      "Structured inputs (ranks before → after):",
      "",
      "| input | β | rank | affine rank |",
      "|---|---|---|---|",
    ]
    for example in counterexamples() {
      let r = example.ranks
      findings.append("| \(example.name) | \(example.withBeta ? "random" : "0") | \(r.rankBefore) → \(r.rankAfter) | \(r.affineBefore) → \(r.affineAfter) |")
    }
    return ClaimSection(
      number: 4, title: "LayerNorm is affine-rank-neutral",
      statement: "LayerNorm preserves the affine rank of a token matrix exactly, and its matrix rank when β = 0.",
      experiment: "Ranks (exact Float64 singular values, default tolerance) of X and LN(X) on Gaussian token matrices, and on four constructed inputs: a token that is a positive multiple of another plus a constant, collinear tokens, more tokens than features, and a token shifted by a constant vector.",
      findings: findings,
      verdict: affineAgree == samples && rankAgree == samples ? .holdsGenerically : .fails,
      verdictReason: "On generic inputs the ranks agree in every sample; the constructed inputs show it is not exact: LayerNorm identifies x with a·x + c·1 (a > 0), so such tokens merge (rank and affine rank drop), it bends affine lines (collinear tokens gain affine rank), and it caps the rank at d − 1 when n ≥ d.",
      command: "mc-generic claims --only 4 --samples \(samples) --seed \(seed) --output DIR")
  }
}

extension String {
  /// Four decimals, without Foundation's format.
  init(format4 value: Double) {
    guard value.isFinite else { self = "\(value)"; return }
    let scaled = abs(value * 10_000).rounded()
    let whole = Int(scaled / 10_000), fraction = Int(scaled.truncatingRemainder(dividingBy: 10_000))
    let digits = String(fraction)
    // The sign separately: Int(−0.25) is 0, which would drop it.
    self = (value < 0 && scaled > 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 4 - digits.count) + digits
  }
}
