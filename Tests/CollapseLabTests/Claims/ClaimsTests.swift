@testable import CollapseLab
import Foundation
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
    var experiment = CollapseRateExperiment(samples: 6, denseSamples: 2, seed: 3)
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
    let rankIndex = Metric.rank.index
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

@Suite("Claims experiments 5–8: the outcomes the mathematics guarantees")
struct LaterClaimsTests {
  /// Attention-only output lies in the weight-determined span S, and a linear
  /// MLP's output in S' (up to Float32 round-off), for any attention pattern;
  /// only GELU leaves S'. Two layers of attention reach n·(H+1)² generic
  /// directions while that is below d − 1. Shapes keep dim S' = 2·n·(H+1)
  /// well below d − 1, so the test has power; σ = 0.05 makes GELU visibly
  /// nonlinear on these small widths.
  @Test func attentionStaysInItsReachableSpan() {
    var experiment = MLPDirectionsExperiment(samples: 2, seed: 4)
    experiment.configuration.modelDimension = 256
    experiment.configuration.heads = 4
    experiment.configuration.feedForwardDimension = 512
    experiment.configuration.sequenceLength = 4
    experiment.configuration.weightScale = 0.05
    for sample in 0..<2 {
      let shares = experiment.shares(sample: sample)
      #expect(shares.reachableDimension == 4 * 5 && shares.extendedDimension == 2 * 4 * 5)
      #expect(shares.attentionReachable < 1e-5 && shares.linearMLPReachable < 1e-5, "\(shares)")
      #expect(shares.mlpReachable > 1e-3 && shares.attentionLiteral > 1e-3, "\(shares)")
    }
    #expect(experiment.twoLayerReachableDimension(sample: 0) == 4 * 5 * 5)
  }

  /// W_O (d × d Gaussian) is invertible, so the head outputs come back from
  /// Y to about κ·ε_f32; one head from its own block of W_O does not.
  @Test func headOutputsAreRecoverableOnlyWithAllOfTheOutputProjection() {
    var experiment = HeadIdentifiabilityExperiment(samples: 2, seed: 6)
    shrink(&experiment.configuration)
    for layer in experiment.layerFindings().flatMap({ $0 }) {
      #expect(layer.rank == experiment.configuration.modelDimension)
      #expect(layer.recoveryError < pow(10, layer.log10Condition) * Double(Float.ulpOfOne) * 10, "\(layer)")
      #expect(layer.singleHeadError > 0.3, "\(layer)")
    }
  }

  /// The overhead is (H·d + H)/d², 9228/589824 at BERT-base; every
  /// (token, head) contribution is a distinct output direction (rank n·H per
  /// layer) when H ≤ d, and the collapse sweep runs on the gated variant.
  @Test func gatesSeparateEveryTokenAndHead() {
    #expect(GatedProjectionExperiment.overhead(modelDimension: 768, heads: 12) == 9228.0 / 589_824)
    var experiment = GatedProjectionExperiment(samples: 2, denseSamples: 2, seed: 8)
    shrink(&experiment.configuration)
    experiment.scales = [0.02]
    experiment.depth = 3
    for layer in experiment.recovery().flatMap({ $0 }) {
      #expect(layer.jointRank == 8 * 4 && layer.smallestHeadRank == 8)
    }
    #expect(experiment.run().verdict == .holds)
  }

  /// At σ = 0.02 pure attention is nearly uniform (entropy close to ln n) and
  /// still collapses; at large σ with residual connections the heads are
  /// sharp (entropy well below ln n) and the first layer keeps full rank.
  /// (Logits scale like σ²·d: σ = 0.6 at d = 64 is about BERT-base's σ = 0.16.)
  /// The gap ratio σ₂/σ₁ of an attention matrix lies in (0, 1).
  @Test func entropyAndRankCollapseAreDistinct() {
    var experiment = WidthEntropyExperiment(samples: 2, seed: 10)
    shrink(&experiment.configuration)
    experiment.entropyLayers = 3
    let n = experiment.configuration.sequenceLength, lnN = log(Double(n))
    let uniform = experiment.entropyLayers(variant: Variant(), scale: 0.02)
    for layers in uniform {
      #expect(layers.allSatisfy { $0.smallest > 0.9 * lnN && $0.largest <= lnN + 1e-4 })
      #expect(layers.last!.rank < n)
    }
    let sharp = experiment.entropyLayers(variant: Variant(residual: true, postLayerNorm: true, mlp: true), scale: 0.6)
    for layers in sharp {
      #expect(layers[0].middle < 0.5 * lnN && layers[0].rank == n, "\(layers[0])")
    }
    let point = experiment.widthPoint(sample: 0, length: 16)
    #expect(point.gapRatio > 0 && point.gapRatio < 1 && point.relativeEntropy <= 1 + 1e-4)
  }
}

@Suite("Report number formatting")
struct ReportFormattingTests {
  @Test(arguments: [(0.25, "0.2500"), (-0.25, "-0.2500"), (-1.5, "-1.5000"), (3.14159, "3.1416"), (-0.00001, "0.0000"), (0, "0.0000")])
  func fourDecimals(value: Double, text: String) {
    #expect(String(format4: value) == text)
  }
}

@Suite("Surgeries by architecture")
struct ArchitectureSurgeryTests {
  /// Every preset at L = 3, d = 32, H = 4, n = 6: the table has four rows per
  /// architecture, the figure one panel each, and the numbers say what the
  /// blocks do (a pre-LN SAN collapses towards one direction, a parallel
  /// block's SAN+MLP keeps full rank through the MLP, skips keep full rank).
  @Test func reportRowsFigureAndVerdict() {
    var experiment = ArchitectureSurgeryExperiment(architectures: [.bertBase, .gpt2, .pythia], samples: 12, sequenceLength: 6, seed: 3)
    experiment.adjust = { c in
      c.layers = 3; c.modelDimension = 32; c.heads = 4; c.feedForwardDimension = 64
      if c.block.keyValueHeads != nil { c.block.keyValueHeads = 2 }
    }
    let section = experiment.run()
    let rows = section.findings.filter { $0.hasPrefix("| bert-base") || $0.hasPrefix("| gpt2") || $0.hasPrefix("| pythia") }
    #expect(rows.count == 12)
    #expect(section.attachments.count == 1)
    let svg = section.attachments[0].contents
    #expect(svg.components(separatedBy: "layer (0 = embedding output)").count - 1 == 3)
    // Skip variants keep full rank in all 12 samples on every architecture.
    for row in rows where row.contains("SAN+skip") || row.contains("unmodified") { #expect(row.contains("12/12"), "\(row)") }
    // The parallel block's SAN+MLP reads x through the MLP: full rank.
    #expect(rows.first { $0.hasPrefix("| pythia") && $0.contains("SAN+MLP") }?.contains("12/12") == true)
    #expect(section.verdictReason.contains("pythia's SAN+MLP keeps full rank"))
  }
}
