import Foundation
import RankKernels

/// The claims report on a trained GPT-2, Llama, GPT-NeoX or ALBERT model
/// (`claims --model DIR|FILE.gguf`): Dong's four surgeries at the model's
/// norm position on the checkpoint and on HF's initialisation of the same
/// architecture (its preset at the checkpoint's widths), on the same inputs.
///
/// Claims 1, 2 and 3 (collapse of pure attention, numerical rank, residual
/// connections with Dong's Figure 2) run from the surgeries' metrics. The
/// probes of BERT's report (Dong's bound per layer, κ(A_h), the MLP's spans,
/// head identifiability) read BERT's parameter layout and are not run here:
/// the report says so.
public typealias TrainedTransformerClaimsSetup = TrainedClaimsSetup<TrainedTransformer>

extension TrainedClaimsSetup where Model == TrainedTransformer {
  /// - Parameters:
  ///   - checkpoint: the trained model (GPT-2, Llama, GPT-NeoX or ALBERT).
  ///   - windows: the inputs (text windows or `--token-ids` lines), or nil
  ///     for `randomCount` sequences of n distinct ordinary ids.
  ///   - randomCount: how many random-id sequences without windows.
  ///   - textPath: the text's path, recorded in the report.
  ///   - textSHA256: the text's SHA-256, recorded in the report.
  ///   - n: tokens per sequence.
  ///   - perturbation: claim 3's neighbourhood ε (0: none).
  ///   - perturbationSamples: samples drawn in that neighbourhood.
  ///   - seed: the random streams' seed.
  public init(
    checkpoint: TrainedTransformer, windows: [[Int32]]?, randomCount: Int, textPath: String?, textSHA256: String?,
    sequenceLength n: Int, perturbation: Double, perturbationSamples: Int, seed: UInt64
  ) {
    // The initialisation: weights and embeddings N(0, σ²) at the preset's σ
    // (GPT-2's residual projections σ/√(2L)), biases 0, norm γ = 1, β = 0.
    var c = checkpoint.configuration
    c.sequenceLength = n
    c.variants = Variant.dongSurgeries(normPosition: c.block.normPosition)
    let sequences: [[Int32]]
    if let windows {
      sequences = windows
      c.input = .text
    } else {
      sequences = (0..<randomCount).map { distinctRandomTokens(count: n, from: checkpoint.ordinaryTokenIDs, sample: UInt64($0), seed: seed) }
      c.input = .randomTokens
    }
    let source = CheckpointSource(
      directory: checkpoint.path, name: checkpoint.name, modelSHA256: checkpoint.sha256, textPath: textPath, textSHA256: textSHA256,
      windowCount: windows?.count)
    self.init(
      checkpoint: checkpoint, initialisation: checkpoint.huggingFaceInitialisation(seed: seed), sequences: sequences, text: nil,
      textPath: textPath, textSHA256: textSHA256, configuration: c, source: source, perturbation: perturbation,
      perturbationSamples: perturbationSamples, seed: seed)
  }

  private var command: String {
    var parts = ["mc-generic claims --model \(checkpoint.path)"]
    if let textPath { parts.append((configuration.input == .tokenIDs ? "--token-ids " : "--text ") + textPath) }
    parts.append("--seq-len \(configuration.sequenceLength) --windows \(sequences.count) --seed \(seed)")
    if perturbation > 0 { parts.append("--perturb \(perturbation) --perturb-samples \(perturbationSamples)") }
    return parts.joined(separator: " ")
  }

  private func reproduce(_ claim: Int) -> String { command + " --only \(claim) --output DIR" }
  private var surgeries: [Variant] { configuration.variants }
  /// Dong's four in order: SAN, SAN+MLP, SAN+skip, the unmodified block.
  private var san: Int { 0 }
  private var sanMLP: Int { 1 }
  private var sanSkip: Int { 2 }
  private var unmodified: Int { 3 }

  /// The claims this report runs.
  public static let claimNumbers = [1, 2, 3]

  /// Runs the selected claims (1, 2, 3 by default); `progress` gets one line per step.
  public func sections(only: Set<Int>? = nil, progress: (String) -> Void = { _ in }) -> [ClaimSection] {
    var metrics: [String: [[[MetricValues]]]] = [:]
    for (label, model) in models {
      progress("four surgeries, \(label), \(sequences.count) inputs")
      metrics[label] = surgeryMetrics(model)
    }
    var sections: [ClaimSection] = []
    for claim in Self.claimNumbers where only?.contains(claim) ?? true {
      progress("claim \(claim)")
      switch claim {
      case 1: sections.append(collapseRateSection(metrics))
      case 2: sections.append(rankSection(metrics))
      default:
        if perturbationSamples > 0 { progress("neighbourhood, \(perturbationSamples) samples") }
        let perturbed = perturbationSamples > 0 ? surgeryMetrics(checkpoint, perturbation: perturbation, samples: perturbationSamples) : nil
        var section = residualSection(metrics, perturbed: perturbed)
        section.attachments.append(("dong-figure2.svg", figure(metrics)))
        section.findings += ["", "![Dong et al.'s Figure 2 for this checkpoint](dong-figure2.svg)"]
        sections.append(section)
      }
    }
    return sections
  }

  /// The median of `metric` by layer for each (model, surgery), as markdown rows.
  private func medianRows(_ metrics: [String: [[[MetricValues]]]], _ metric: Metric, surgeries chosen: [Int], format: (Double) -> String) -> [String] {
    let L = configuration.layers
    var rows = ["| model | surgery | " + (0...L).map { "L\($0)" }.joined(separator: " | ") + " |", "|---|---|" + String(repeating: "---|", count: L + 1)]
    for (label, _) in models {
      let columns = metricColumns(metrics[label]!, metric, variants: surgeries.count, layers: L)
      for v in chosen { rows.append("| \(label) | `\(surgeries[v])` | " + columns[v].map { format(median($0)) }.joined(separator: " | ") + " |") }
    }
    return rows
  }

  private func sanDecay(_ metrics: [String: [[[MetricValues]]]], _ label: String, _ v: Int) -> Double {
    let L = configuration.layers, column = metricColumns(metrics[label]!, .dongRatio, variants: surgeries.count, layers: L)[v]
    return median(column[L]) / median(column[0])
  }

  func collapseRateSection(_ metrics: [String: [[[MetricValues]]]]) -> ClaimSection {
    let findings = ["Dong et al.'s composite-norm residual ratio (`dong_ratio`) of SAN (`\(surgeries[san])`) and SAN+MLP (`\(surgeries[sanMLP])`) by layer, median over the \(sequences.count) inputs:", ""]
      + medianRows(metrics, .dongRatio, surgeries: [san, sanMLP]) { String(scientific: $0) }
      + ["", "Dong's per-layer bound (f = 4βH/√d_k from each layer's weights) is computed in BERT's report only: its probes read BERT's parameter layout."]
    let trained = sanDecay(metrics, "trained", san), initial = sanDecay(metrics, "HF init", san)
    let collapses = (trained: trained < 1e-3, initial: initial < 1e-3)
    let verdict: ClaimVerdict = collapses.trained && collapses.initial ? .holds : (collapses.initial ? .holdsConditionally : .fails)
    return ClaimSection(
      number: 1, title: "Pure attention collapses (Dong et al. 2021), trained vs init",
      statement: "Without skip connections, self-attention drives the tokens to one point doubly exponentially in depth.",
      experiment: "SAN and SAN+MLP surgeries (norms kept in the model's \(configuration.block.normPosition.rawValue) position) of the checkpoint and of its HF initialisation on the same inputs.",
      findings: findings, verdict: verdict,
      verdictReason: "SAN's median Dong ratio at layer \(configuration.layers) over layer 0: \(String(scientific: initial)) at init, \(String(scientific: trained)) on this checkpoint (collapse: below 1e-3). "
        + (verdict == .holds ? "Both collapse." : verdict == .holdsConditionally ? "The claim holds at initialisation and fails on this checkpoint." : "SAN does not collapse at initialisation here."),
      command: reproduce(1))
  }

  func rankSection(_ metrics: [String: [[[MetricValues]]]]) -> ClaimSection {
    let c = configuration, L = c.layers, full = min(c.sequenceLength, c.modelDimension)
    let findings = ["Numerical rank (tolerance σ₁·max(n, d)·ε_f32) of every surgery's states, median over inputs, by layer (full rank \(full)):", ""]
      + medianRows(metrics, .rank, surgeries: [san, sanMLP, sanSkip, unmodified]) { String(format: "%.0f", $0) }
      + ["", "κ(A_h) of each head is computed in BERT's report only (its probes read BERT's parameter layout)."]
    let ranks = models.map { label, _ in median(metricColumns(metrics[label]!, .rank, variants: surgeries.count, layers: L)[san][L]) }
    return ClaimSection(
      number: 2, title: "Exact rank is generic, numerical rank is not, trained vs init",
      statement: "Attention matrices are generically invertible (exact rank is preserved), while numerical rank collapses with depth.",
      experiment: "The numerical rank of every surgery's states on the checkpoint and its initialisation.",
      findings: findings, verdict: .dependsOnReading,
      verdictReason: "SAN's numerical rank ends at \(String(format: "%.0f", ranks[0])) of \(full) on this checkpoint and at \(String(format: "%.0f", ranks[1])) at init: exact rank is generic, numerical rank follows the Dong ratios of claim 1.",
      command: reproduce(2))
  }

  func residualSection(_ metrics: [String: [[[MetricValues]]]], perturbed: [[[MetricValues]]]?) -> ClaimSection {
    let c = configuration, L = c.layers, n = c.sequenceLength, d = c.modelDimension
    let fullRank = min(n, d), fullAffine = min(n - 1, d)
    /// Full rank, rank no lower than X₀'s, full affine rank at layer L.
    func fractions(_ results: [[[MetricValues]]], _ v: Int) -> (rank: Int, kept: Int, affine: Int, of: Int) {
      let last = results.map { $0[v][L] }
      let kept = results.filter { $0[v][L][.rank] >= $0[v][0][.rank] }.count
      return (last.filter { $0[.rank] == Double(fullRank) }.count, kept, last.filter { $0[.affineRank] == Double(fullAffine) }.count, last.count)
    }
    let fullInputs = metrics["trained"]!.filter { $0[0][0][.rank] == Double(fullRank) }.count
    let why: String = switch c.block.positions {
    case .rope: "this model adds no position to X₀ (RoPE acts inside attention)"
    case .learned: "learned positions did not separate them numerically"
    case .none: "this model has no positions"
    }
    let inputNote = fullInputs < sequences.count ? ": a token repeated within a window gives equal embedding rows, and " + why : ""
    var findings = [
      "The input X₀ has full rank (\(fullRank)) in \(fullInputs) of \(sequences.count) inputs" + inputNote + ".",
      "",
      "At the last layer (L\(L)), with 95 % Clopper–Pearson intervals: full rank, rank at least X₀'s (no rank lost), and full affine rank (\(fullAffine)):", "",
      "| surgery | model / inputs | full rank | rank ≥ rank(X₀) | full affine rank |", "|---|---|---|---|---|",
    ]
    var skipKeeps: [String: Bool] = [:]
    for (v, surgery) in surgeries.enumerated() {
      for (label, _) in models {
        let f = fractions(metrics[label]!, v)
        if v == sanSkip { skipKeeps[label] = f.kept == f.of }
        findings.append("| `\(surgery)` | \(label), \(sequences.count) inputs | \(countWithInterval(f.rank, of: f.of)) | \(countWithInterval(f.kept, of: f.of)) | \(countWithInterval(f.affine, of: f.of)) |")
      }
      if let perturbed {
        let f = fractions(perturbed, v)
        findings.append("| `\(surgery)` | trained + \(perturbation)·rms(T)·G, \(f.of) samples | \(countWithInterval(f.rank, of: f.of)) | \(countWithInterval(f.kept, of: f.of)) | \(countWithInterval(f.affine, of: f.of)) |")
      }
    }
    findings += ["", "Median `dong_ratio` by layer of SAN+skip and the unmodified model (Figure 2 below draws the mean with its spread):", ""]
      + medianRows(metrics, .dongRatio, surgeries: [sanSkip, unmodified]) { String(format4: $0) }
    let prevents = skipKeeps["trained"]! && skipKeeps["HF init"]!
    let decay = (trained: sanDecay(metrics, "trained", sanSkip), initial: sanDecay(metrics, "HF init", sanSkip))
    return ClaimSection(
      number: 3, title: "Residual connections prevent rank collapse, trained vs init",
      statement: "With skip connections, production Transformers keep full rank: residuals generically prevent collapse.",
      experiment: "The four surgeries of the checkpoint and of its initialisation on the same inputs\(perturbed == nil ? "" : ", and \(perturbationSamples) samples of the neighbourhood T + \(perturbation)·rms(T)·G of the trained weights").",
      findings: findings, verdict: prevents ? .holds : .fails,
      verdictReason: "SAN+skip loses no rank (rank at L\(L) ≥ rank of X₀ on every input) at init: \(skipKeeps["HF init"]! ? "yes" : "no"); on this checkpoint: \(skipKeeps["trained"]! ? "yes" : "no"). From layer 0 to \(L) SAN+skip's median Dong ratio keeps \(String(format4: decay.trained)) of its value on the checkpoint and \(String(format4: decay.initial)) at init.",
      command: reproduce(3))
  }

  func figure(_ metrics: [String: [[[MetricValues]]]]) -> String {
    let c = configuration
    let panels = models.map { label, _ in
      (title: label == "trained" ? checkpoint.name : "HF initialisation (\(c.architecture.rawValue) preset, N(0, \(c.weightScale)²))",
       values: metricColumns(metrics[label]!, .dongRatio, variants: c.variants.count, layers: c.layers))
    }
    return dongFigureSVG(
      panels: panels, variants: c.variants,
      caption: "\(checkpoint.name) (\(checkpoint.format)), n = \(c.sequenceLength), \(sequences.count) inputs (\(textPath.map { "windows of \(($0 as NSString).lastPathComponent)" } ?? "random tokens")).")
  }

  /// The report's opening: checkpoint, block, inputs, what is and is not run.
  public var reportHeader: String {
    let c = configuration
    let inputs = textPath.map { "\(sequences.count) windows of \(c.sequenceLength) tokens of `\($0)` (SHA-256 \(textSHA256 ?? "?")), no special tokens added\(checkpoint.prependedTokenID != nil && c.input == .text ? " except the tokenizer's BOS" : "")" }
      ?? "\(sequences.count) sequences of \(c.sequenceLength) distinct ids drawn uniformly from the ordinary vocabulary"
    return """
      # Rank-collapse claims on a trained \(checkpoint.format) model, beside its initialisation

      Generated by `\(command) --output DIR` (seed \(seed)).

      - **Checkpoint:** `\(checkpoint.name)` from `\(checkpoint.path)`; SHA-256 `\(checkpoint.sha256)`.
        \(c.blockSummary). Weights as stored (quantised tensors dequantised to Float32), no norm folding.
      - **Initialisation:** the `\(c.architecture.rawValue)` preset at these widths, as HF's `from_config` draws it: weights and embeddings N(0, \(c.weightScale)²)\(c.block.scalesResidualProjectionsByDepth ? " (residual projections σ/√(2L))" : ""), biases 0, norm γ = 1 (β = 0), drawn from seed \(seed).
      - **Inputs (shared by both):** \(inputs); positions 0…n−1.
      - **Surgeries (Dong et al., at the \(c.block.normPosition.rawValue)-norm position):** SAN `\(surgeries[san])`, SAN+MLP `\(surgeries[sanMLP])`, SAN+skip `\(surgeries[sanSkip])`, unmodified `\(surgeries[unmodified])`; the last state of a pre/parallel-norm surgery carries the final norm.\(perturbation > 0 ? "\n- **Neighbourhood (claim 3):** \(perturbationSamples) samples of T + \(perturbation)·rms(T)·G for every tensor T." : "")
      - Claims 1, 2 and 3 run on the checkpoint beside its initialisation. Claims 5 and 6 and the per-layer probes of 1 and 2 (Dong's bound, κ(A_h)) read BERT's parameter layout and run in BERT's report only; 4 and 7 are properties of random initialisation (`mc-generic claims`).

      Proportions carry 95 % Clopper–Pearson intervals; each section ends with the command that reproduces it alone.

      """
  }
}

extension TrainedTransformer {
  /// The same architecture with HF's initialisation (see
  /// `TrainedClaimsSetup.initialisation`): layer weights from the
  /// streams of sample 0 as the dense engine draws them, embedding tables
  /// from the input streams; the tokenizer and vocabulary are kept.
  public func huggingFaceInitialisation(seed: UInt64) -> TrainedTransformer {
    var c = configuration
    c.randomBiases = false
    c.randomLayerNormAffine = false
    c.weightDistribution = .gaussian
    c.variants = Variant.dongSurgeries(normPosition: c.block.normPosition)
    let width = embeddings.width, vocabulary = vocabularySize
    func normals(_ count: Int, _ purpose: StreamPurpose, _ scale: Float) -> [Float] {
      var values = [Float](repeating: 0, count: count)
      values.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: 0, layer: 0, purpose).fillNormal($0.baseAddress!, count: count, standardDeviation: scale)
      }
      return values
    }
    var e = TrainedEmbeddings(words: normals(vocabulary * width, .input, c.weightScale), width: width)
    if let positions = embeddings.positions { e.positions = normals(positions.count, .inputAuxiliary, c.weightScale) }
    if embeddings.tokenType != nil { e.tokenType = normals(width, .inputShared, c.weightScale) }
    if embeddings.normGamma != nil { e.normGamma = [Float](repeating: 1, count: width); e.normBeta = [Float](repeating: 0, count: width) }
    if let projection = embeddings.projection {
      e.projection = normals(projection.count, .embeddingProjection, c.weightScale)
      e.projectionBias = [Float](repeating: 0, count: c.modelDimension)
    }
    let groups = layers.count, perGroup = c.layers / groups
    let initialLayers = (0..<groups).map { g in
      let w = LayerWeights(modelDimension: c.modelDimension, feedForwardDimension: c.feedForwardDimension)
      w.draw(sample: 0, layer: g * perGroup + 1, configuration: c, seed: seed, includeMatrices: true, includeMLP: true)
      return w
    }
    let d = c.modelDimension
    let final = finalNorm.map { norm in ([Float](repeating: 1, count: d), norm.beta.map { _ in [Float](repeating: 0, count: d) }) }
    return TrainedTransformer(
      path: path, name: "\(name) (HF initialisation)", sha256: "initialisation-of-\(sha256.prefix(16))-seed-\(seed)", format: format,
      configuration: configuration, embeddings: e, layers: initialLayers, finalNorm: final, ordinaryTokenIDs: ordinaryTokenIDs,
      tokenizer: tokenizer, tokenizerUnavailableReason: tokenizerUnavailableReason, prependedTokenID: prependedTokenID,
      unusedTensors: [])
  }
}
