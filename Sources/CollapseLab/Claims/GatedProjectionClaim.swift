import Foundation
import RankKernels

/// Claim 7: a position-gated output projection (PG-OP), g_{i,h} =
/// sigmoid(w_hᵀ·y_i + b_h) scaling head h's output at token i before W_O,
/// makes per-head contributions recoverable from the output at a parameter
/// overhead below 1.6 % of W_O.
///
/// With gates, ∂Y_i/∂g_{i,h} = C_{i,h}·W_O,h =: u_{i,h}, head h's (ungated)
/// contribution to token i. The map from gate perturbations (n × H) to the
/// output (n × d) therefore has rank Σ_i rank[u_{i,1} … u_{i,H}]: n·H when
/// every (token, head) contribution is a distinct direction, i.e. when the
/// heads can be told apart by perturbing their gates. (The gate parameters
/// (w_h, b_h) reach every gate perturbation when [Y 1] has rank n, so their
/// Jacobian has the same rank.)
struct GatedProjectionExperiment: ClaimExperiment {
  public var samples: Int
  public var denseSamples: Int
  public var seed: UInt64
  public var configuration: ModelConfiguration
  public var scales: [Double] = [0.02, 0.08]
  public var depth = 24

  public init(samples: Int, denseSamples: Int, seed: UInt64) {
    self.samples = samples
    self.denseSamples = denseSamples
    self.seed = seed
    configuration = .forClaims(layers: 12, variants: [Variant(residual: true, postLayerNorm: true, mlp: true, positionGates: true)])
  }

  /// Gate parameters H·d + H over W_O's d² weights.
  static func overhead(modelDimension d: Int, heads: Int) -> Double {
    Double(heads * d + heads) / Double(d * d)
  }

  struct LayerRecovery {
    /// Σ_i rank[u_{i,1} … u_{i,H}] and the smallest per-head rank (tokens with u_{i,h} ≠ 0).
    var jointRank, smallestHeadRank: Int
    /// Median over tokens of log₁₀ κ([u_{i,1} … u_{i,H}]): how well the heads separate.
    var log10Separation: Double
  }

  func recovery() -> [[LayerRecovery]] {
    let c = configuration, seed = seed
    let n = c.sequenceLength, d = c.modelDimension, heads = c.heads, dk = c.headDimension
    return mapSamples(denseSamples) { s in
      var layers: [LayerRecovery] = []
      probeDenseForward(sample: UInt64(s), configuration: c, variant: c.variants[0], seed: seed) { probe in
        // Head h's contributions to every token at once: C_h·W_O,h (n × d).
        let perHead = (0..<heads).map { h in
          project(
            columnBlock(probe.headOutputs, rows: n, columns: d, block: h, width: dk), rows: n,
            outputProjectionBlock(probe.weights.output, head: h, headDimension: dk, modelDimension: d), columns: d)
        }
        var jointRank = 0, headRanks = [Int](repeating: 0, count: heads), separations: [Double] = []
        for i in 0..<n {
          // Row h of U_i: C_{i,h}·W_O,h.
          var contributions: [Float] = []
          for h in 0..<heads {
            let row = perHead[h][(i * d)..<((i + 1) * d)]
            contributions += row
            if row.contains(where: { $0 != 0 }) { headRanks[h] += 1 }
          }
          let sigma = singularValues(ofRows: contributions, rows: heads, columns: d)
          jointRank += sigma.filter { $0 > Double(d) * Double(Float.ulpOfOne) * sigma[0] }.count
          separations.append(log10(sigma[0] / sigma[heads - 1]))
        }
        layers.append(LayerRecovery(jointRank: jointRank, smallestHeadRank: headRanks.min()!, log10Separation: median(separations)))
      }
      return layers
    }
  }

  public func run() -> ClaimSection {
    let c = configuration, n = c.sequenceLength, d = c.modelDimension, heads = c.heads
    let bertOverhead = Self.overhead(modelDimension: d, heads: heads)
    var lines = [
      "Parameter overhead, (H·d + H)/d² ≈ 1/d_k:",
      "",
      "| d | H | d_k | gate parameters | W_O weights | overhead |",
      "|---|---|---|---|---|---|",
    ]
    for h in [6, heads, 24] where d % h == 0 {
      lines.append("| \(d) | \(h) | \(d / h) | \(h * d + h) | \(d * d) | \(String(format4: 100 * Self.overhead(modelDimension: d, heads: h))) % |")
    }
    let layers = recovery()
    let all = layers.flatMap { $0 }
    let fullJoint = all.filter { $0.jointRank == n * heads }.count
    let jointShare = clopperPearson(successes: fullJoint, trials: all.count)
    lines += [
      "",
      "Recoverability in `\(c.variants[0])` (BERT-base widths, n = \(n), σ = \(c.weightScale), \(c.layers) layers), dense engine, \(denseSamples) samples: rank of the map from gate perturbations to the attention output, at tolerance d·ε_f32·σ₁ per token.",
      "",
      "| layer | joint rank (of n·H = \(n * heads)) | smallest per-head rank (of n = \(n)) | median log₁₀ κ of the \(heads) head contributions at a token |",
      "|---|---|---|---|",
    ]
    for l in 0..<c.layers {
      let layer = layers.map { $0[l] }
      lines.append("| \(l + 1) | \(layer.map(\.jointRank).min()!)–\(layer.map(\.jointRank).max()!) | \(layer.map(\.smallestHeadRank).min()!) | \(String(format4: median(layer.map(\.log10Separation)))) |")
    }
    lines += [
      "",
      "Full joint rank in \(fullJoint) of \(all.count) sampled layers (95 % CI \(String(format4: jointShare.lower))–\(String(format4: jointShare.upper))). Without gates the output offers no such handle: each head enters only through the sum.",
    ]
    // Effect on collapse, sketch engine (exact in distribution with gates too).
    let plain = Variant(residual: true, postLayerNorm: true, mlp: true), gated = c.variants[0]
    let shown = Array(Set([min(12, depth), depth])).sorted()
    lines += [
      "",
      "Effect on collapse (sketch engine, \(samples) samples per σ): fraction of samples numerically collapsed (rank < n) and median residual ratio, at layers \(shown.map(String.init).joined(separator: " and ")).",
      "",
      "| σ | variant | " + shown.map { "collapsed at L\($0) | residual ratio at L\($0)" }.joined(separator: " | ") + " |",
      "|---|---|" + String(repeating: "---|---|", count: shown.count),
    ]
    var collapseChanges: [String] = [], gatedAlwaysLess = true
    for scale in scales {
      var sweep = c
      sweep.layers = depth
      sweep.weightScale = Float(scale)
      sweep.variants = [plain, gated]
      let ranks = sketchMetric(.rank, configuration: sweep), ratios = sketchMetric(.residualRatio, configuration: sweep)
      let collapsed = (0..<2).map { v in shown.map { l in Double(ranks[v][l].filter { $0 < Double(n) }.count) / Double(samples) } }
      for (v, variant) in sweep.variants.enumerated() {
        let cells = shown.indices.map { "\(String(format4: collapsed[v][$0])) | \(String(scientific: median(ratios[v][shown[$0]])))" }
        lines.append("| \(scale) | `\(variant)` | " + cells.joined(separator: " | ") + " |")
      }
      for (i, l) in shown.enumerated() where collapsed[0][i] != collapsed[1][i] {
        collapseChanges.append("σ = \(scale), L\(l): \(String(format4: collapsed[0][i])) → \(String(format4: collapsed[1][i]))")
        if collapsed[1][i] > collapsed[0][i] { gatedAlwaysLess = false }
      }
    }
    lines += [
      "",
      "The gates start near sigmoid(0) = ½, so part of any difference is the attention branch being halved relative to the residual path, not the per-token gating itself.",
    ]
    let collapseEffect = collapseChanges.isEmpty
      ? "The gates left the collapsed fraction unchanged at every σ and depth shown."
      : "The gates change the collapsed fraction (plain → gated: \(collapseChanges.joined(separator: "; ")))\(gatedAlwaysLess ? ": fewer samples collapse with gates wherever the fraction differs, so they delay numerical collapse; compare the last column for whether they prevent it" : "")."
    let recoverable = fullJoint == all.count && all.allSatisfy { $0.smallestHeadRank == n }
    return ClaimSection(
      number: 7, title: "Position-gated output projection (PG-OP)",
      statement: "Scaling each head's output at each position by a gate sigmoid(w_hᵀx_i + b_h) before W_O (H·d + H parameters, below 1.6 % of W_O) makes per-head contributions recoverable from the output.",
      experiment: "Variant `+pgop` (gate weights iid N(0, σ²) like every weight, gate biases 0 unless random biases are drawn). The overhead for several head counts; the rank of the map from gate perturbations to the output, per head and jointly (dense engine); numerical collapse with and without gates over depth at two weight scales (sketch engine).",
      findings: lines,
      verdict: recoverable ? .holds : .fails,
      verdictReason: recoverable
        ? "The overhead is \(String(format4: 100 * bertOverhead)) % at BERT-base (about 1/d_k, so below 1.6 % only for d_k ≥ 63). The gate map had rank n·H in every sampled layer: each (token, head) contribution is a distinct output direction that a gate perturbation reveals, which plain multi-head attention does not offer. \(collapseEffect)"
        : "The gate map lost rank in some sampled layer: some head contributions cannot be separated by their gates.",
      command: "mc-generic claims --only 7 --samples \(samples) --dense-samples \(denseSamples) --seed \(seed) --output DIR")
  }
}
