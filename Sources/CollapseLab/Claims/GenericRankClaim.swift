import Foundation
import RankKernels

/// Claim 2: softmax attention matrices are almost surely invertible, so exact
/// rank is preserved in every variant; only numerical rank separates them.
struct GenericRankExperiment: ClaimExperiment {
  public var samples: Int
  public var seed: UInt64
  public var configuration: ModelConfiguration

  public init(samples: Int, seed: UInt64) {
    self.samples = samples
    self.seed = seed
    configuration = .forClaims(layers: 6, variants: [Variant(), Variant(residual: true)])
  }

  /// log₁₀ of the condition numbers of the first layer's attention matrices
  /// (every head of every sample), from dense Q and K on a Gaussian input.
  func attentionConditionNumbers() -> [Double] {
    let c = configuration
    let n = c.sequenceLength, d = c.modelDimension, heads = c.heads, dk = c.headDimension
    let seed = seed
    return mapSamples(samples) { s in
      let stream = { (purpose: UInt64) in RandomStream(seed: seed, stream: (UInt64(s) << 8) | purpose) }
      var x = [Float](repeating: 0, count: n * d), wq = [Float](repeating: 0, count: d * d), wk = wq
      x.withUnsafeMutableBufferPointer { stream(1).fillNormal($0.baseAddress!, count: $0.count) }
      wq.withUnsafeMutableBufferPointer { stream(2).fillNormal($0.baseAddress!, count: $0.count, standardDeviation: Float(c.weightScale)) }
      wk.withUnsafeMutableBufferPointer { stream(3).fillNormal($0.baseAddress!, count: $0.count, standardDeviation: Float(c.weightScale)) }
      let q = project(x, rows: n, wq, columns: d), k = project(x, rows: n, wk, columns: d)
      var output = [Float](repeating: 0, count: n * d), probabilities = [Float](repeating: 0, count: heads * n * n)
      output.withUnsafeMutableBufferPointer { out in
        probabilities.withUnsafeMutableBufferPointer { p in
          // Values do not matter for the probabilities; Q stands in for V.
          multiHeadAttention(
            shape: AttentionShape(batch: 1, sequenceLength: n, heads: heads, headDimension: dk),
            query: q, key: k, value: q, output: out.baseAddress!, probabilities: p.baseAddress!, threads: 1)
        }
      }
      return (0..<heads).map { h in
        let sigma = singularValuesByJacobi(of: Array(probabilities[(h * n * n)..<((h + 1) * n * n)]), rows: n, columns: n)
        return sigma.last! > 0 ? log10(sigma.first! / sigma.last!) : .infinity
      }
    }.flatMap { $0 }
  }

  public func run() -> ClaimSection {
    let c = configuration
    let conditions = attentionConditionNumbers().sorted()
    let singular = conditions.filter { !$0.isFinite }.count
    let ci = clopperPearson(successes: singular, trials: conditions.count)
    var findings = [
      "Attention matrices of layer 1 (Gaussian input, \(c.heads) heads × \(samples) samples, n = \(c.sequenceLength), d = \(c.modelDimension), σ = \(c.weightScale)): log₁₀ κ(A) median \(String(format4: conditions[conditions.count / 2])), largest \(String(format4: conditions.last!)); exactly singular in \(singular)/\(conditions.count) (95 % CI \(String(format4: ci.lower))–\(String(format4: ci.upper))).",
      "",
      "Numerical rank of the token matrix (n = \(c.sequenceLength)) by layer, at relative tolerances τ·max(n, d)·ε_f32 (τ = 1 is the default of every other metric), median over \(samples) samples (sketch engine):",
      "",
      "| variant | τ | " + (1...c.layers).map { "L\($0)" }.joined(separator: " | ") + " |",
      "|---|---|" + String(repeating: "---|", count: c.layers),
    ]
    // Final-layer median ranks per tolerance: (τ, attn, attn+res).
    var finalRanks: [(Double, Int, Int)] = []
    for factor in [1e-2, 1.0, 1e2, 1e3] {
      var configuration = c
      configuration.rankToleranceFactor = factor
      let ranks = sketchMetric(.rank, configuration: configuration)
      var last: [Int] = []
      for (v, variant) in c.variants.enumerated() {
        let medians = (1...c.layers).map { l in median(ranks[v][l]) }
        last.append(Int(medians.last!))
        findings.append("| \(variant) | \(factor) | " + medians.map { "\(Int($0))" }.joined(separator: " | ") + " |")
      }
      finalRanks.append((factor, last[0], last[1]))
    }
    let comparison = finalRanks.map { "τ = \($0.0): \($0.1) vs \($0.2)" }.joined(separator: "; ")
    let generic = singular == 0
    return ClaimSection(
      number: 2, title: "Exact rank is generic, even without residual connections",
      statement: "Softmax attention matrices are almost surely invertible, so exact rank is preserved generically in every variant; only numerical rank separates the variants.",
      experiment: "Condition numbers of sampled attention matrices, and the numerical rank of the token matrix layer by layer at four tolerances, for pure attention (`attn`) and with residual connections (`attn+res`).",
      findings: findings,
      verdict: generic ? .holdsGenerically : .fails,
      verdictReason: generic
        ? "No sampled attention matrix was singular, so in exact arithmetic every layer keeps the rank of its input. In Float32, though, the median numerical rank at layer \(c.layers) is, `attn` vs `attn+res`, \(comparison) (relative tolerance τ·\(max(c.sequenceLength, c.modelDimension))·ε_f32). Residual connections prevent *numerical* collapse; exact rank needed no preventing."
        : "Some sampled attention matrices were exactly singular.",
      command: "mc-generic claims --only 2 --samples \(samples) --seed \(seed) --output DIR")
  }
}
