@testable import CollapseLab
import Testing

/// L = 3, d = 64, H = 4, d_ff = 256, n = 8: small enough for debug builds.
private func shrink(_ c: inout ModelConfiguration) {
  c.modelDimension = 64; c.heads = 4; c.feedForwardDimension = 256; c.sequenceLength = 8; c.layers = 3
}

@Suite("Claims experiments: the outcomes the mathematics guarantees")
struct ClaimsTests {
  /// LN(a·x + c·1) = LN(x) for a > 0, so a token built that way merges with x;
  /// three collinear tokens off the origin leave their line; with n > d the
  /// rows of LN(X) (β = 0) lie in a (d−1)-dimensional subspace.
  @Test func layerNormCounterexamplesChangeTheRank() {
    let experiment = LayerNormRankExperiment(samples: 3, seed: 5)
    let examples = experiment.counterexamples()
    #expect(examples.count == 4)
    let (scaled, collinear, many, shifted) = (examples[0].ranks, examples[1].ranks, examples[2].ranks, examples[3].ranks)
    #expect(scaled.rankAfter == scaled.rankBefore - 1)
    #expect(scaled.affineAfter == scaled.affineBefore - 1)
    #expect(collinear.affineBefore == 1 && collinear.affineAfter == 2)
    #expect(many.rankAfter <= experiment.width - 1)
    #expect(shifted.rankAfter == shifted.rankBefore - 1)
    // Generic Gaussian inputs keep both ranks.
    let section = experiment.run()
    #expect(section.verdict == .holdsGenerically)
  }

  /// Pure attention at small weight scale averages tokens: the residual ratio
  /// of `attn` falls by orders of magnitude within two layers, faster than
  /// exponentially.
  @Test func pureAttentionCollapsesFasterThanExponentially() {
    var experiment = CollapseRateExperiment(samples: 6, seed: 3)
    shrink(&experiment.configuration)
    let section = experiment.run()
    #expect(section.verdict == .holds, "\(section.findings.joined(separator: "\n"))")
  }

  /// Softmax attention matrices have positive entries and are generically
  /// invertible: none of the sampled ones is exactly singular, and residual
  /// connections keep full numerical rank where pure attention loses it.
  @Test func attentionMatricesAreInvertibleAndResidualsKeepRank() {
    var experiment = GenericRankExperiment(samples: 4, seed: 7)
    shrink(&experiment.configuration)
    #expect(experiment.attentionConditionNumbers().allSatisfy { $0.isFinite })
    let section = experiment.run()
    #expect(section.verdict == .holdsGenerically)
  }

  /// An exactly rank-r input through `attn+res`: the columns of X_{l+1} =
  /// X_l + Σ_h A_h·X_l·W_h lie in col(X_l) + Σ_h A_h·col(X_l), so the rank can
  /// grow, to at most (H + 1)·rank(X_l), but generically does not collapse
  /// below r. (It does grow: the attention's averaging adds the all-ones
  /// direction, so the numerical rank becomes r + 1 at the first layer; an
  /// exactly rank-preserving residual stack is not what the mathematics gives.)
  @Test func lowRankInputThroughResidualAttention() throws {
    var c = ModelConfiguration()
    shrink(&c)
    let r = 3
    c.inputRank = r
    c.variants = [Variant(residual: true)]
    let rankIndex = Metric.allCases.firstIndex(of: .rank)!
    for sample in 0..<4 {
      for engine in [DenseEngine() as any ForwardEngine, SketchEngine()] {
        let ranks = engine.run(sample: UInt64(sample), configuration: c, seed: 9)[0].map { Int($0.values[rankIndex]) }
        #expect(ranks[0] == r, "\(engine.name) sample \(sample): input rank \(ranks[0])")
        for l in 1..<ranks.count {
          #expect(ranks[l] >= r && ranks[l] <= min(c.sequenceLength, (c.heads + 1) * ranks[l - 1]), "\(engine.name) sample \(sample): \(ranks)")
        }
      }
    }
  }

  /// At the scale of BERT's initialisation a shallow residual stack keeps full
  /// rank (the identity path dominates), so the phase diagram's first column
  /// is 0 for both LayerNorm placements and the verdict is not "fails"; the
  /// diagram is written as an attachment.
  @Test func residualPhaseDiagramAtSmallScale() {
    var experiment = ResidualCollapseExperiment(samples: 4, seed: 11)
    shrink(&experiment.configuration)
    experiment.scales = [0.02]
    experiment.depth = 4
    #expect(experiment.collapsedFractions(Variant(residual: true, postLayerNorm: true, mlp: true))[0][0] == 0)
    #expect(experiment.collapsedFractions(Variant(residual: true, preLayerNorm: true, mlp: true))[0][0] == 0)
    let section = experiment.run()
    #expect(section.verdict != .fails)
    #expect(section.attachments.map(\.name) == ["claim3-phase.svg"])
    #expect(section.attachments[0].contents.contains("<svg"))
  }
}
