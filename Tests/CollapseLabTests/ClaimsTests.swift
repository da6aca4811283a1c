@testable import CollapseLab
import Testing

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
    experiment.configuration.modelDimension = 64
    experiment.configuration.heads = 4
    experiment.configuration.feedForwardDimension = 256
    experiment.configuration.sequenceLength = 8
    experiment.configuration.layers = 3
    let section = experiment.run()
    #expect(section.verdict == .holds, "\(section.findings.joined(separator: "\n"))")
  }
}
