import Foundation

/// Claim 3: residual connections prevent rank collapse, even without the MLP;
/// and the counter-test: a phase diagram of numerical collapse over the
/// weight scale σ and depth, post-LN and pre-LN.
struct ResidualCollapseExperiment: ClaimExperiment {
  public var samples: Int
  public var seed: UInt64
  public var configuration: ModelConfiguration
  public var scales: [Double] = [0.02, 0.04, 0.08, 0.16]
  public var depth = 36

  public init(samples: Int, seed: UInt64) {
    self.samples = samples
    self.seed = seed
    configuration = .forClaims(
      layers: 12,
      variants: [Variant(residual: true), Variant(residual: true, postLayerNorm: true), Variant(residual: true, postLayerNorm: true, mlp: true)])
  }

  /// Fraction of samples numerically collapsed (rank < n at the default
  /// tolerance) per (scale, layer 1...depth), for one variant.
  func collapsedFractions(_ variant: Variant) -> [[Double]] {
    scales.map { scale in
      var c = configuration
      c.variants = [variant]
      c.layers = depth
      c.weightScale = Float(scale)
      let ranks = sketchMetric(.rank, configuration: c)[0]
      return (1...depth).map { l in Double(ranks[l].filter { $0 < Double(c.sequenceLength) }.count) / Double(samples) }
    }
  }

  public func run() -> ClaimSection {
    let c = configuration, n = c.sequenceLength
    let ranks = sketchMetric(.rank, configuration: c)
    let ratios = sketchMetric(.residualRatio, configuration: c)
    var findings = [
      "At BERT-base (σ = \(c.weightScale), n = \(n), \(c.layers) layers, \(samples) samples, sketch engine):",
      "",
      "| variant | full numerical rank at layer \(c.layers) (95 % CI) | median residual ratio at layer \(c.layers) |",
      "|---|---|---|",
    ]
    var allFull = true
    for (v, variant) in c.variants.enumerated() {
      let full = ranks[v][c.layers].filter { $0 == Double(n) }.count
      if full < samples { allFull = false }
      findings.append("| \(variant) | \(countWithInterval(full, of: samples)) | \(String(format4: median(ratios[v][c.layers]))) |")
    }
    let postLN = Variant(residual: true, postLayerNorm: true, mlp: true), preLN = Variant(residual: true, preLayerNorm: true, mlp: true)
    let post = collapsedFractions(postLN), pre = collapsedFractions(preLN)
    let shownDepths = stride(from: 6, through: depth, by: 6).map { $0 }
    findings += [
      "",
      "Counter-test: fraction of samples numerically collapsed (rank < \(n)) by weight scale σ and depth, with the MLP, \(samples) samples per σ:",
      "",
      "| variant | σ | " + shownDepths.map { "L\($0)" }.joined(separator: " | ") + " |",
      "|---|---|" + String(repeating: "---|", count: shownDepths.count),
    ]
    var anyCollapse = false
    for (variant, table) in [(postLN, post), (preLN, pre)] {
      for (i, scale) in scales.enumerated() {
        if table[i].contains(where: { $0 > 0 }) { anyCollapse = true }
        findings.append("| \(variant) | \(scale) | " + shownDepths.map { String(format4: table[i][$0 - 1]) }.joined(separator: " | ") + " |")
      }
    }
    findings += [
      "", "![phase diagram](claim3-phase.svg)", "",
      "To confirm a cell with materialised weights: `mc-generic --variants \(postLN),\(preLN) --layers 12 --sigma 0.08 --engine dense --samples 8 --output DIR`.",
    ]
    return ClaimSection(
      number: 3, title: "Residual connections prevent collapse, without the MLP",
      statement: "With residual connections the token matrix keeps full rank with depth, whether or not the MLP is present.",
      experiment: "Numerical rank and residual ratio at layer \(c.layers) for `attn+res`, `attn+res+ln`, `attn+res+ln+mlp`; then the fraction of numerically collapsed samples over σ ∈ {\(scales.map { "\($0)" }.joined(separator: ", "))} and depth up to \(depth), post-LN and pre-LN.",
      findings: findings,
      verdict: allFull && !anyCollapse ? .holds : (allFull ? .holdsConditionally : .fails),
      verdictReason: allFull && !anyCollapse
        ? "Every residual variant kept full numerical rank in every sample, at BERT-base and across the whole σ × depth grid."
        : (allFull
          ? "Every residual variant kept full rank at BERT-base, but the phase diagram shows samples that collapse numerically at larger σ or depth (the rows above where the fraction is not 0): residual connections prevent collapse only in part of the parameter space. The sketch engine is exact in distribution at every σ (its identity does not depend on the scale); the dense engine can confirm individual cells."
          : "Some residual samples lost full numerical rank at BERT-base."),
      command: "mc-generic claims --only 3 --samples \(samples) --seed \(seed) --output DIR",
      attachments: [("claim3-phase.svg", phaseDiagram(post: post, pre: pre, postName: "\(postLN)", preName: "\(preLN)"))])
  }

  /// Two heat maps side by side: σ (rows) × depth (columns), shade = fraction collapsed.
  func phaseDiagram(post: [[Double]], pre: [[Double]], postName: String, preName: String) -> String {
    let cell = 14.0, left = 60.0, top = 40.0, gap = 40.0
    let width = left + 2 * (Double(depth) * cell) + gap + 20, height = top + Double(scales.count) * cell + 70
    var body = ["<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">fraction of samples numerically collapsed (rank &lt; n)</text>"]
    for (panel, (name, table)) in [(postName, post), (preName, pre)].enumerated() {
      let x0 = left + Double(panel) * (Double(depth) * cell + gap)
      body.append("<text x=\"\(x0 + Double(depth) * cell / 2)\" y=\"\(top - 6)\" text-anchor=\"middle\">\(name)</text>")
      for (i, scale) in scales.enumerated() {
        let y = top + Double(i) * cell
        if panel == 0 { body.append("<text x=\"\(left - 6)\" y=\"\(y + 11)\" text-anchor=\"end\" font-size=\"10\">σ=\(scale)</text>") }
        for l in 0..<depth {
          let shade = Int(255 * (1 - table[i][l]))
          body.append("<rect x=\"\(x0 + Double(l) * cell)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(255,\(shade),\(shade))\" stroke=\"#ccc\"/>")
        }
      }
      for l in stride(from: 6, through: depth, by: 6) {
        body.append("<text x=\"\(x0 + (Double(l) - 0.5) * cell)\" y=\"\(top + Double(scales.count) * cell + 14)\" text-anchor=\"middle\" font-size=\"10\">\(l)</text>")
      }
      body.append("<text x=\"\(x0 + Double(depth) * cell / 2)\" y=\"\(top + Double(scales.count) * cell + 32)\" text-anchor=\"middle\">layer</text>")
    }
    body.append("<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"10\">white: none collapsed; red: all collapsed</text>")
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body.joined(separator: "\n") + "\n</svg>\n"
  }
}
