import RankKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-sample measurements taken of a token matrix X (n × d) after each
/// layer (and of the input, "layer 0").
public enum Metric: String, CaseIterable, Codable, Sendable {
  /// Numerical rank: #{σᵢ > tolerance}, tolerance = factor·σ₁·max(n, d)·ε_f32.
  case rank
  /// Numerical rank of X − 1·meanᵀ, with the tolerance of `rank` (relative to
  /// σ₁ of X itself, so round-off on a collapsed X does not read as full rank).
  case affineRank = "affine_rank"
  /// ‖X − 1·meanᵀ‖_F / ‖X‖_F.
  case residualRatio = "residual_ratio"
  /// The same ratio in Dong et al.'s composite norm √(‖·‖₁‖·‖_∞).
  case dongRatio = "dong_ratio"
  /// log₁₀(σ_min/σ_max), σ_min = σ_{min(n,d)}; floored at −300 when σ_min = 0.
  case log10SigmaRatio = "log10_sigma_ratio"
  /// ‖X‖_F² / σ₁².
  case stableRank = "stable_rank"
  /// exp of the entropy of σᵢ/Σσⱼ (Roy & Vetterli).
  case effectiveRank = "effective_rank"
  /// Mean over heads and query rows of the attention rows' entropy (nats);
  /// absent (NaN) for the input.
  case attentionEntropy = "attention_entropy"
  /// σ₁ of X, so ranks can be recomputed at another tolerance.
  case sigmaMax = "sigma_1"
  /// Mean of |cos(x_i, x_j)| over token pairs i < j: the anisotropy measure
  /// of Noci et al. 2022 and Wu et al. 2024 (1 when every token points along
  /// one line). Pairs with a zero token are skipped; NaN if none remain.
  case meanAbsCosine = "mean_abs_cosine"
  /// 1 when X has a non-finite entry (overflow or NaN), else 0. Every other
  /// metric of such an X is NaN (left out of the moments), and it never
  /// counts as full rank: `nonfinite_count` in the summary counts these.
  case nonFinite = "nonfinite"
  /// Mean over heads of σ₁(A_h) − σ₂(A_h) of the layer's attention matrices
  /// (`AttentionStatistics.spectralGap`); absent (NaN) for the input and above n = 128.
  case attentionSpectralGap = "attention_spectral_gap"
  /// Mean attention to the first token over heads and query rows
  /// (`AttentionStatistics.sinkMass`); absent (NaN) for the input.
  case attentionSinkMass = "attention_sink_mass"
  /// 1 when `rank` = min(rows, d), else 0: the full-rank fractions are its
  /// mean, so they stay right when rows differ between samples (`measure`
  /// on sequences of several lengths).
  case fullRank = "full_rank"
  /// 1 when `affine_rank` = min(rows − 1, d), else 0.
  case affineFullRank = "affine_full_rank"

  /// Metrics that are 0/1 indicators: the summary reports them as the
  /// fractions `full_rank_fraction`, `affine_full_rank_fraction` and
  /// `nonfinite_count`, not as moments.
  public var isIndicator: Bool { self == .nonFinite || self == .fullRank || self == .affineFullRank }

  /// The metric's position in `allCases`: its index in `MetricValues.values`
  /// and in every (variant, layer, metric) table.
  public var index: Int { Metric.indices[self]! }
  private static let indices = Dictionary(uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) })
}

/// One matrix's measurements, indexed by `Metric`.
///
/// Stored inline (up to `capacity` metrics), not in an array: every layer of
/// every sample makes one, and a heap block each was a fifth of the Gram
/// engine's allocations.
public struct MetricValues: Sendable, Equatable {
  /// The most metrics the inline storage holds.
  public static let capacity = 16
  /// `Metric.allCases.count`, without building `allCases`.
  public static let count = Metric.allCases.count
  private var storage: SIMD16<Double>

  /// `values[i]` is metric `Metric.allCases[i]`; `count` of them.
  public init(values: [Double]) {
    precondition(values.count == Self.count, "MetricValues holds \(Self.count) metrics, got \(values.count)")
    self.init(repeating: 0)
    for (i, value) in values.enumerated() { storage[i] = value }
  }

  /// Every metric `value`.
  init(repeating value: Double) {
    precondition(Self.count <= Self.capacity, "\(Self.count) metrics do not fit MetricValues' inline storage")
    storage = SIMD16(repeating: 0)
    for i in 0..<Self.count { storage[i] = value }
  }

  /// The values in `Metric.allCases` order (a new array).
  public var values: [Double] { (0..<Self.count).map { storage[$0] } }

  public subscript(metric: Metric) -> Double {
    get { storage[metric.index] }
    set { storage[metric.index] = newValue }
  }

  /// The metric at position `index` of `Metric.allCases`.
  public subscript(index index: Int) -> Double {
    precondition(index >= 0 && index < Self.count, "metric index \(index) out of range")
    return storage[index]
  }
}

/// X·Xᵀ (n × n, Float64) of a row-major n × d token matrix.
func gramOfRows(_ x: UnsafePointer<Float>, rows n: Int, columns d: Int) -> [Double] {
  var gram = [Double](repeating: 0, count: n * n)
  gram.withUnsafeMutableBufferPointer { gramMatrix(rows: n, columns: d, x: x, ldx: d, gram: $0.baseAddress!, ldg: max(1, n)) }
  return gram
}

/// Computes every metric of X (n × d, row-major, contiguous).
///
/// Singular values by `rankMethod`: `.gram` (n ≤ d) takes them from the
/// eigenvalues of X·Xᵀ, and the affine rank from those by interlacing or,
/// when that does not decide it, a Sturm count of the eigenvalues of
/// C·X·Xᵀ·C above tolerance² (C = I − 11ᵀ/n centres the rows; no other
/// metric needs the centred spectrum; `affineRankFromGram`) — `gram` may pass X·Xᵀ when
/// the caller already has it; `.exact` from
/// `RankKernels.singularValuesByJacobi` (Float64, one-sided Jacobi after QR:
/// relatively accurate, whatever the backend), with the centred matrix formed
/// in Float64 and rounded once to Float32.
public func measure(
  _ x: UnsafePointer<Float>, rows n: Int, columns d: Int, attentionEntropy: Double, attention: AttentionStatistics? = nil,
  rankToleranceFactor: Double = 1, rankMethod: RankMethod = .exact, gram: [Double]? = nil
) -> MetricValues {
  let count = min(n, d)
  let relativeTolerance = rankToleranceFactor * Double(max(n, d)) * Double(Float.ulpOfOne)
  let useGram = rankMethod == .gram && n <= d
  /// Singular values (count of them, descending) by the chosen method.
  func spectrum(_ a: UnsafePointer<Float>) -> [Double] {
    var values = [Double](repeating: 0, count: count)
    switch rankMethod {
    case .exact, .gram:
      values.withUnsafeMutableBufferPointer { singularValuesByJacobi(m: n, n: d, a: a, lda: d, into: $0.baseAddress!) }
    case .randomized:
      let estimate = randomizedRankEstimate(
        m: n, n: d, a: a, lda: d, relativeTolerance: min(0.5, relativeTolerance), powerIterations: 1, seed: 0, threads: 1)
      for (i, value) in estimate.singularValues.prefix(count).enumerated() { values[i] = value }
    }
    return values
  }
  let sums = CentringStatistics(rows: n, columns: d, x: x, ldx: d, keepsMean: !useGram)
  // Squares of Float32 values cannot overflow Float64: a non-finite sum means a non-finite entry.
  if !sums.totalSquares.isFinite {
    var values = MetricValues(repeating: .nan)
    values[.nonFinite] = 1
    values[.attentionEntropy] = attentionEntropy
    values[.attentionSpectralGap] = attention?.spectralGap ?? .nan
    values[.attentionSinkMass] = attention?.sinkMass ?? .nan
    return values
  }
  let mean = sums.mean
  let residualSquares = sums.residualSquares, totalSquares = sums.totalSquares
  var centred = [Float](repeating: 0, count: useGram ? 0 : n * d)
  if !useGram {
    for i in 0..<n { for j in 0..<d { centred[i * d + j] = Float(Double(x[i * d + j]) - mean[j]) } }
  }
  // The cosines need X·Xᵀ whatever the rank method.
  let g = (useGram ? gram : nil) ?? gramOfRows(x, rows: n, columns: d)
  // σ in per-thread scratch: this runs for every layer of every sample.
  let sigmaStorage = SampleScratch.current.buffer(.singularValues, count: count, of: Double.self)
  if useGram {
    g.withUnsafeBufferPointer { singularValuesFromGram($0.baseAddress!, n: n, into: sigmaStorage) }
  } else {
    sigmaStorage.update(from: spectrum(x), count: count)
  }
  let sigma = UnsafeBufferPointer(start: sigmaStorage, count: count)
  let sigmaMax = sigma.first ?? 0
  let tolerance = relativeTolerance * sigmaMax
  var values = MetricValues(repeating: .nan)
  let rank = sigma.count { $0 > tolerance }
  let affineRank: Int
  if useGram {
    affineRank = affineRankFromGram(g, n: n, sigma: sigma, tolerance: tolerance)
  } else {
    let centredSigma = centred.withUnsafeBufferPointer { spectrum($0.baseAddress!) }
    affineRank = centredSigma.count { $0 > tolerance }
  }
  values[.rank] = Double(rank)
  values[.affineRank] = Double(affineRank)
  values[.fullRank] = rank == min(n, d) ? 1 : 0
  values[.affineFullRank] = affineRank == min(n - 1, d) ? 1 : 0
  values[.residualRatio] = totalSquares > 0 ? (residualSquares / totalSquares).squareRoot() : .nan
  values[.dongRatio] = sums.compositeNorm > 0 ? sums.residualCompositeNorm / sums.compositeNorm : .nan
  let smallest = sigma.last ?? 0
  values[.log10SigmaRatio] = sigmaMax > 0 ? max(-300, log10(smallest / sigmaMax)) : .nan
  values[.stableRank] = sigmaMax > 0 ? totalSquares / (sigmaMax * sigmaMax) : .nan
  let sigmaSum = sigma.reduce(0, +)
  if sigmaSum > 0 {
    var entropy = 0.0
    for s in sigma where s > 0 {
      let p = s / sigmaSum
      entropy -= p * log(p)
    }
    values[.effectiveRank] = exp(entropy)
  }
  values[.attentionEntropy] = attentionEntropy
  values[.sigmaMax] = sigmaMax
  values[.meanAbsCosine] = meanAbsoluteCosine(gram: g, n: n)
  values[.nonFinite] = 0
  values[.attentionSpectralGap] = attention?.spectralGap ?? .nan
  values[.attentionSinkMass] = attention?.sinkMass ?? .nan
  return values
}

/// The number of singular values of C·X above `tolerance` (C = I − 11ᵀ/n
/// centres the rows), from G = X·Xᵀ and its singular values `sigma` (√ of
/// G's eigenvalues, descending).
///
/// C·G·C has the eigenvalue 0 on the ones vector and, on its orthogonal
/// complement, the eigenvalues of a compression of G, which interlace with
/// G's: λ_{i+1}(G) ≤ μ_i ≤ λ_i(G). So when every eigenvalue of G clears
/// tolerance² by more than its backward error (X of full row rank, as
/// residual streams are), all n − 1 of the μ_i do: the affine rank is n − 1
/// with no further work. Otherwise a Sturm count of C·G·C above tolerance²
/// (a tridiagonal reduction, not the whole spectrum) decides.
func affineRankFromGram(_ g: [Double], n: Int, sigma: UnsafeBufferPointer<Double>, tolerance: Double) -> Int {
  guard n > 0 else { return 0 }
  let largest = sigma[0] * sigma[0], smallest = sigma[n - 1] * sigma[n - 1]
  let backwardError = 8 * Double(n) * Double.ulpOfOne * largest
  if smallest > tolerance * tolerance + backwardError { return n - 1 }
  // C·G·C: subtract row and column means, add back the grand mean.
  let scratch = SampleScratch.current
  let rowMeans = scratch.buffer(.affineRowMeans, count: n, of: Double.self)
  rowMeans.update(repeating: 0, count: n)
  var grandMean = 0.0
  for i in 0..<n {
    for j in 0..<n { rowMeans[i] += g[i * n + j] }
    rowMeans[i] /= Double(n)
    grandMean += rowMeans[i] / Double(n)
  }
  let centredGram = scratch.buffer(.affineCentredGram, count: n * n, of: Double.self)
  centredGram.update(from: g, count: n * n)
  for i in 0..<n { for j in 0..<n { centredGram[i * n + j] += grandMean - rowMeans[i] - rowMeans[j] } }
  return symmetricEigenvalueCount(n: n, a: centredGram, lda: n, greaterThan: tolerance * tolerance)
}

/// Mean |G_ij| / √(G_ii·G_jj) over i < j with both norms non-zero.
func meanAbsoluteCosine(gram g: [Double], n: Int) -> Double {
  var sum = 0.0, pairs = 0
  for i in 0..<n where g[i * n + i] > 0 {
    for j in (i + 1)..<max(i + 1, n) where g[j * n + j] > 0 {
      sum += abs(g[i * n + j]) / (g[i * n + i] * g[j * n + j]).squareRoot()
      pairs += 1
    }
  }
  return pairs > 0 ? sum / Double(pairs) : .nan
}

/// σ = √max(0, λ) for the eigenvalues λ of a Gram matrix, descending
/// (round-off can make the eigenvalues of a singular Gram matrix slightly
/// negative).
func singularValuesFromGram(_ gram: [Double], n: Int) -> [Double] {
  var values = [Double](repeating: 0, count: n)
  gram.withUnsafeBufferPointer { g in values.withUnsafeMutableBufferPointer { singularValuesFromGram(g.baseAddress!, n: n, into: $0.baseAddress!) } }
  return values
}

/// ``singularValuesFromGram(_:n:)`` written to `sigma` (n values).
func singularValuesFromGram(_ gram: UnsafePointer<Double>, n: Int, into sigma: UnsafeMutablePointer<Double>) {
  symmetricEigenvalues(n: n, a: gram, lda: max(1, n), into: sigma)
  for i in 0..<n { sigma[i] = sigma[i] > 0 ? sigma[i].squareRoot() : 0 }
}
