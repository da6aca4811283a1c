import Foundation

/// Claim 1 (the part that needs no weight matrices): pure attention collapses
/// token representations doubly exponentially (Dong et al. 2021), i.e. the
/// residual ratio r_l = ‖X_l − 1·meanᵀ‖/‖X_l‖ follows r_{l+1} ≈ c·r_l^κ with
/// κ > 1, so log r_{l+1} / log r_l tends to κ.
public struct CollapseRateExperiment: ClaimExperiment {
  public var samples: Int
  public var seed: UInt64
  public var configuration: ModelConfiguration

  public init(samples: Int, seed: UInt64) {
    self.samples = samples
    self.seed = seed
    configuration = .forClaims(layers: 6, variants: [Variant(), Variant(postLayerNorm: true)])
  }

  public func run() -> ClaimSection {
    let c = configuration
    let ratios = sketchMetric(.residualRatio, configuration: c)
    var findings = [
      "d = \(c.modelDimension), \(c.heads) heads, n = \(c.sequenceLength), σ = \(c.weightScale), \(samples) samples, sketch engine. Per layer: the median residual ratio r_l, the fraction of samples whose tokens are identical to Float32 precision (r_l < 1e-6), and, from layer 2 on (r_0 ≈ 1 makes the first ratio meaningless), the median of log r_l / log r_{l−1} over samples with r_{l−1} in (1e-5, 1) — above Float32 round-off — and r_l > 0 (κ > 1 means faster than exponential decay).",
      "",
      "| variant | layer | median r_l | P(r_l < 1e-6) (95 % CI) | median log r_l / log r_{l−1} |",
      "|---|---|---|---|---|",
    ]
    var exponents: [Double] = []
    for (v, variant) in c.variants.enumerated() {
      for l in 1...c.layers {
        let current = ratios[v][l].sorted()
        let collapsed = ratios[v][l].filter { $0 < 1e-6 }.count
        let ci = clopperPearson(successes: collapsed, trials: samples)
        let pairs = l < 2 ? [] : zip(ratios[v][l - 1], ratios[v][l]).compactMap { previous, now -> Double? in
          guard previous > 1e-5, previous < 1, now > 0, now < 1 else { return nil }
          return log(now) / log(previous)
        }.sorted()
        let exponent = pairs.isEmpty ? Double.nan : pairs[pairs.count / 2]
        if !pairs.isEmpty { exponents.append(exponent) }
        findings.append(
          "| \(variant) | \(l) | \(String(scientific: current[current.count / 2])) | \(collapsed)/\(samples) (\(String(format4: ci.lower))–\(String(format4: ci.upper))) | \(pairs.isEmpty ? "– (no pairs)" : String(format4: exponent)) |")
      }
    }
    findings.append("")
    findings.append("Not yet measured here: Dong's bound factor ‖W_Q W_Kᵀ‖₁·‖W_V W_O‖_{1,∞}·4H/√d_k from the sampled weights, which needs the dense engine (planned).")
    let superExponential = !exponents.isEmpty && exponents.allSatisfy { $0 > 1.5 }
    return ClaimSection(
      number: 1, title: "Pure attention collapses doubly exponentially (Dong et al. 2021)",
      statement: "Without residual connections and MLPs, the residual of the token matrix decays doubly exponentially with depth: r_{l+1} ≤ c·r_l³.",
      experiment: "Residual ratios of `attn` and `attn+ln` layer by layer, and the empirical exponent log r_{l+1} / log r_l per sample.",
      findings: findings,
      verdict: superExponential ? .holds : .fails,
      // "holds" covers the observed rate only; the bound's own condition is not checked yet.
      verdictReason: superExponential
        ? "The median exponent exceeds 1.5 at every layer where it can be measured: the decay is faster than exponential until the tokens coincide to Float32 precision, typically within two or three layers."
        : "The median exponent is not above 1.5 at every measurable layer, so this experiment does not show doubly exponential decay.",
      command: "mc-generic claims --only 1 --samples \(samples) --seed \(seed) --output DIR")
  }
}

extension String {
  /// Three significant digits in scientific notation, without Foundation's format.
  init(scientific value: Double) {
    guard value.isFinite, value != 0 else { self = "\(value)"; return }
    var exponent = Int(floor(log10(abs(value))))
    var mantissa = value / pow(10, Double(exponent))
    mantissa = (mantissa * 100).rounded() / 100
    if abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
    self = "\(mantissa)e\(exponent)"
  }
}
