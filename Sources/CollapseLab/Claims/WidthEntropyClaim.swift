import Foundation
import RankKernels

/// Claim 8: rank collapse in width (with the sequence length n, through the
/// gap between the two largest singular values of the attention matrix,
/// Nait Saada et al. 2025) and entropy collapse (near-one-hot attention,
/// Zhai et al. 2023) are distinct from rank collapse in depth.
struct WidthEntropyExperiment: ClaimExperiment {
  public var samples: Int
  public var seed: UInt64
  public var configuration: ModelConfiguration
  public var lengths = [16, 32, 64, 128, 256, 512]
  /// Depth and weight scales of the entropy comparison.
  public var entropyLayers = 6
  public var lowEntropyScale: Float = 0.16

  /// `samples` here are dense-engine samples (attention matrices are needed).
  public init(samples: Int, seed: UInt64) {
    self.samples = samples
    self.seed = seed
    configuration = .forClaims(layers: 1, variants: [])
  }

  struct WidthPoint {
    /// Medians over heads of σ₂(A_h)/σ₁(A_h) and σ₁(A_h − 11ᵀ/n).
    var gapRatio, centredNorm: Double
    /// Layer-1 residual ratios ‖X − 1·meanᵀ‖_F/‖X‖_F of `attn` and of BERT's
    /// `attn+res+ln+mlp`, and the spectral-norm one ‖X − 1·meanᵀ‖₂/‖X‖₂ of `attn`.
    var attentionRatio, bertRatio, attentionSpectralRatio: Double
    /// Mean attention-row entropy over ln n.
    var relativeEntropy: Double
  }

  func widthPoint(sample: Int, length n: Int) -> WidthPoint {
    var c = configuration
    c.sequenceLength = n
    let heads = c.heads
    var point = WidthPoint(gapRatio: 0, centredNorm: 0, attentionRatio: 0, bertRatio: 0, attentionSpectralRatio: 0, relativeEntropy: 0)
    probeDenseForward(sample: UInt64(sample), configuration: c, variant: Variant(), seed: seed) { probe in
      var gaps: [Double] = [], centred: [Double] = []
      for h in 0..<heads {
        var a = Array(probe.probabilities[(h * n * n)..<((h + 1) * n * n)])
        let sigma = singularValues(ofRows: a, rows: n, columns: n)
        gaps.append(sigma[1] / sigma[0])
        for index in a.indices { a[index] -= 1 / Float(n) }
        centred.append(singularValues(ofRows: a, rows: n, columns: n)[0])
      }
      point.gapRatio = median(gaps)
      point.centredNorm = median(centred)
      let d = c.modelDimension
      let statistics = CentringStatistics(rows: n, columns: d, x: probe.output, ldx: d)
      point.attentionRatio = statistics.relativeResidual
      var centredOutput = probe.output
      for i in 0..<n { for j in 0..<d { centredOutput[i * d + j] -= Float(statistics.mean[j]) } }
      point.attentionSpectralRatio = singularValues(ofRows: centredOutput, rows: n, columns: d)[0] / singularValues(ofRows: probe.output, rows: n, columns: d)[0]
      point.relativeEntropy = probe.rowEntropies.reduce(0.0) { $0 + Double($1) } / Double(probe.rowEntropies.count) / log(Double(n))
    }
    probeDenseForward(sample: UInt64(sample), configuration: c, variant: Variant(residual: true, postLayerNorm: true, mlp: true), seed: seed) { probe in
      point.bertRatio = CentringStatistics(rows: n, columns: c.modelDimension, x: probe.output, ldx: c.modelDimension).relativeResidual
    }
    return point
  }

  struct EntropyLayer {
    /// Per-head mean row entropy (nats): smallest, median, largest head.
    var smallest, middle, largest: Double
    var rank: Int
    var residualRatio: Double
  }

  /// Per layer, for one variant and weight scale: per-head entropies beside the rank.
  func entropyLayers(variant: Variant, scale: Float) -> [[EntropyLayer]] {
    var layered = configuration
    layered.layers = entropyLayers
    layered.weightScale = scale
    let c = layered, seed = seed, n = c.sequenceLength, d = c.modelDimension, heads = c.heads
    return mapSamples(samples) { s in
      var layers: [EntropyLayer] = []
      probeDenseForward(sample: UInt64(s), configuration: c, variant: variant, seed: seed) { probe in
        let perHead = (0..<heads).map { h in probe.rowEntropies[(h * n)..<((h + 1) * n)].reduce(0.0) { $0 + Double($1) } / Double(n) }.sorted()
        let metrics = probe.output.withUnsafeBufferPointer {
          measure($0.baseAddress!, rows: n, columns: d, attentionEntropy: .nan, rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod)
        }
        layers.append(EntropyLayer(
          smallest: perHead.first!, middle: perHead[heads / 2], largest: perHead.last!,
          rank: Int(metrics[.rank]), residualRatio: metrics[.residualRatio]))
      }
      return layers
    }
  }

  public func run() -> ClaimSection {
    let c = configuration, heads = c.heads, n = c.sequenceLength
    var lines = [
      "Width: one layer at BERT-base widths (d = \(c.modelDimension), H = \(heads), σ = \(c.weightScale), Gaussian input), dense engine, \(samples) samples per length; medians over samples (and over heads for the attention matrices A_h).",
      "",
      "| n | σ₂(A)/σ₁(A) | σ₁(A − 11ᵀ/n) | entropy / ln n | `attn`: residual ratio, spectral norm | `attn`: residual ratio, Frobenius | `attn+res+ln+mlp`: residual ratio, Frobenius |",
      "|---|---|---|---|---|---|---|",
    ]
    var points: [[WidthPoint]] = []
    for length in lengths {
      let atLength = mapSamples(samples) { widthPoint(sample: $0, length: length) }
      points.append(atLength)
      lines.append(
        "| \(length) | \(String(scientific: median(atLength.map(\.gapRatio)))) | \(String(scientific: median(atLength.map(\.centredNorm)))) | \(String(format4: median(atLength.map(\.relativeEntropy)))) | \(String(scientific: median(atLength.map(\.attentionSpectralRatio)))) | \(String(scientific: median(atLength.map(\.attentionRatio)))) | \(String(format4: median(atLength.map(\.bertRatio)))) |")
    }
    // Trends as least-squares slopes of log(quantity) on log n over every
    // (sample, length): "falls" when the slope is below 0 by two standard errors.
    func trend(_ quantity: (WidthPoint) -> Double) -> (slope: Double, standardError: Double) {
      let pairs = zip(lengths, points).flatMap { length, atLength in atLength.map { (log(Double(length)), log(quantity($0))) } }
      return logLogSlope(pairs)
    }
    let gapTrend = trend(\.gapRatio), spectralTrend = trend(\.attentionSpectralRatio), frobeniusTrend = trend(\.attentionRatio)
    func falls(_ t: (slope: Double, standardError: Double)) -> Bool { t.slope + 2 * t.standardError < 0 }
    func describe(_ t: (slope: Double, standardError: Double)) -> String { "\(String(format4: t.slope)) ± \(String(format4: t.standardError))" }
    let gapFalls = falls(gapTrend), spectralFalls = falls(spectralTrend), frobeniusFalls = falls(frobeniusTrend)
    lines += [
      "",
      "Slopes of log(quantity) against log n (least squares over all samples, ± one standard error): σ₂/σ₁ \(describe(gapTrend)), spectral residual ratio of `attn` \(describe(spectralTrend)), Frobenius residual ratio of `attn` \(describe(frobeniusTrend)).",
      "",
      "σ₁(A) ≈ 1 (A is row-stochastic and nearly uniform), so σ₂/σ₁ measures how far A is from the rank-one averaging matrix 11ᵀ/n; σ₁(A − 11ᵀ/n) is what remains after removing that outlier, as Nait Saada et al. propose. The two residual ratios of `attn` answer different questions: the spectral one follows the largest non-mean direction (it shrinks with the bulk of A's spectrum), the Frobenius one sums all n − 1 of them, and A − 11ᵀ/n has n − 1 singular values of order σ₂, so its Frobenius norm, and with it the Frobenius ratio, need not fall.",
      "",
      "Entropy: per-head mean attention-row entropy (nats; ln n = \(String(format4: log(Double(n))))) beside the numerical rank of the layer output (n = \(n)), dense engine, \(samples) samples, medians over samples.",
      "",
      "| setting | layer | smallest head | median head | largest head | median rank | median residual ratio |",
      "|---|---|---|---|---|---|---|",
    ]
    let settings: [(String, Variant, Float)] = [
      ("`attn`, σ = \(c.weightScale)", Variant(), c.weightScale),
      ("`attn+res+ln+mlp`, σ = \(lowEntropyScale)", Variant(residual: true, postLayerNorm: true, mlp: true), lowEntropyScale),
    ]
    var highEntropyCollapse = false, lowEntropyFullRank = false
    for (name, variant, scale) in settings {
      let layers = entropyLayers(variant: variant, scale: scale)
      for l in 0..<entropyLayers {
        let layer = layers.map { $0[l] }
        let smallest = median(layer.map(\.smallest)), middle = median(layer.map(\.middle)), largest = median(layer.map(\.largest))
        let rank = Int(median(layer.map { Double($0.rank) }))
        lines.append("| \(name) | \(l + 1) | \(String(format4: smallest)) | \(String(format4: middle)) | \(String(format4: largest)) | \(rank) | \(String(scientific: median(layer.map(\.residualRatio)))) |")
        if variant == Variant() && rank < n && smallest > 0.9 * log(Double(n)) { highEntropyCollapse = true }
        if variant != Variant() && rank == n && middle < 0.5 * log(Double(n)) { lowEntropyFullRank = true }
      }
    }
    lines += [
      "",
      "In the first setting the attention is nearly uniform (entropy close to ln n in every head) and the tokens collapse; in the second, most heads attend to one or two tokens (entropy far below ln n) and the rank stays full.",
    ]
    let distinct = highEntropyCollapse && lowEntropyFullRank
    let widthReading = gapFalls && spectralFalls
      ? (frobeniusFalls
        ? "σ₂/σ₁ and both residual ratios of pure attention fall with n: one layer averages more strongly the longer the sequence."
        : "σ₂/σ₁ and the spectral-norm residual ratio of pure attention fall with n (log–log slopes \(describe(gapTrend)) and \(describe(spectralTrend))), so in the operator-norm sense one layer averages more strongly the longer the sequence; the Frobenius residual ratio (the measure of every other claim here) does not fall (slope \(describe(frobeniusTrend))), because the n − 1 non-outlier singular values together keep their weight. Collapse in width is a statement about the spectral norm.")
      : "The spectral gap or the spectral-norm residual ratio does not fall with n by two standard errors (slopes \(describe(gapTrend)) and \(describe(spectralTrend)))."
    return ClaimSection(
      number: 8, title: "Collapse in width, and entropy collapse",
      statement: "Rank collapse also happens in width: as the sequence grows, a spectral gap of the attention matrix makes one layer average tokens more strongly. Entropy collapse (near-one-hot attention) is a distinct phenomenon from rank collapse.",
      experiment: "For n from \(lengths.first!) to \(lengths.last!): singular-value gap of the first layer's attention matrices and the one-layer residual ratio; per-head attention entropy per layer beside the rank, in a high-entropy and a low-entropy setting.",
      findings: lines,
      verdict: gapFalls && spectralFalls && distinct ? (frobeniusFalls ? .holds : .dependsOnReading) : .fails,
      verdictReason: widthReading + " With residual connections (BERT) the one-layer ratio stays near 1 at every length. "
        + (distinct
          ? "Rank collapse with near-maximal entropy, and full rank with low entropy, both occur: the two are different phenomena."
          : "The entropy settings did not show both combinations (high entropy with collapse, low entropy at full rank)."),
      command: "mc-generic claims --only 8 --dense-samples \(samples) --seed \(seed) --output DIR")
  }
}

extension CentringStatistics {
  /// ‖X − 1·meanᵀ‖_F / ‖X‖_F.
  var relativeResidual: Double { totalSquares > 0 ? (residualSquares / totalSquares).squareRoot() : .nan }
}

/// Least-squares slope of y on x and its standard error (NaN with fewer than
/// three points or no spread in x).
func logLogSlope(_ points: [(x: Double, y: Double)]) -> (slope: Double, standardError: Double) {
  let count = Double(points.count)
  guard points.count > 2 else { return (.nan, .nan) }
  let meanX = points.reduce(0) { $0 + $1.x } / count, meanY = points.reduce(0) { $0 + $1.y } / count
  let sxx = points.reduce(0) { $0 + ($1.x - meanX) * ($1.x - meanX) }
  let sxy = points.reduce(0) { $0 + ($1.x - meanX) * ($1.y - meanY) }
  guard sxx > 0 else { return (.nan, .nan) }
  let slope = sxy / sxx
  let residualSquares = points.reduce(0) { $0 + pow($1.y - meanY - slope * ($1.x - meanX), 2) }
  return (slope, (residualSquares / (count - 2) / sxx).squareRoot())
}
