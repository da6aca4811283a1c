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
}

/// One matrix's measurements, indexed by `Metric`.
public struct MetricValues: Sendable, Equatable {
  public var values: [Double]
  public init(values: [Double]) { self.values = values }
  public subscript(metric: Metric) -> Double {
    get { values[Metric.allCases.firstIndex(of: metric)!] }
    set { values[Metric.allCases.firstIndex(of: metric)!] = newValue }
  }
}

/// Computes every metric of X (n × d, row-major, contiguous).
///
/// Singular values come from `RankKernels.singularValues` (Float64, one-sided
/// Jacobi after QR) on the current backend; the centred matrix is formed in
/// Float64 and rounded once to Float32.
public func measure(
  _ x: UnsafePointer<Float>, rows n: Int, columns d: Int, attentionEntropy: Double,
  rankToleranceFactor: Double = 1, rankMethod: RankMethod = .exact
) -> MetricValues {
  let count = min(n, d)
  let relativeTolerance = rankToleranceFactor * Double(max(n, d)) * Double(Float.ulpOfOne)
  /// Singular values (count of them, descending) by the chosen method.
  func spectrum(_ a: UnsafePointer<Float>) -> [Double] {
    var values = [Double](repeating: 0, count: count)
    switch rankMethod {
    case .exact:
      values.withUnsafeMutableBufferPointer { singularValues(m: n, n: d, a: a, lda: d, into: $0.baseAddress!) }
    case .randomized:
      let estimate = randomizedRankEstimate(
        m: n, n: d, a: a, lda: d, relativeTolerance: min(0.5, relativeTolerance), powerIterations: 1, seed: 0, threads: 1)
      for (i, value) in estimate.singularValues.prefix(count).enumerated() { values[i] = value }
    }
    return values
  }
  let sigma = spectrum(x)
  // Centre over tokens in Float64.
  var mean = [Double](repeating: 0, count: d)
  for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
  for j in 0..<d { mean[j] /= Double(n) }
  var centred = [Float](repeating: 0, count: n * d)
  var residualSquares = 0.0, totalSquares = 0.0
  for i in 0..<n {
    for j in 0..<d {
      let value = Double(x[i * d + j])
      let r = value - mean[j]
      centred[i * d + j] = Float(r)
      residualSquares += r * r
      totalSquares += value * value
    }
  }
  let centredSigma = centred.withUnsafeBufferPointer { spectrum($0.baseAddress!) }
  let sigmaMax = sigma.first ?? 0
  let tolerance = relativeTolerance * sigmaMax
  var values = MetricValues(values: [Double](repeating: .nan, count: Metric.allCases.count))
  values[.rank] = Double(sigma.filter { $0 > tolerance }.count)
  values[.affineRank] = Double(centredSigma.filter { $0 > tolerance }.count)
  values[.residualRatio] = totalSquares > 0 ? (residualSquares / totalSquares).squareRoot() : .nan
  values[.dongRatio] = {
    let numerator = compositeNorm(rows: n, columns: d) { i, j in Double(x[i * d + j]) - mean[j] }
    let denominator = compositeNorm(rows: n, columns: d) { i, j in Double(x[i * d + j]) }
    return denominator > 0 ? numerator / denominator : .nan
  }()
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
  return values
}

/// √(‖M‖₁·‖M‖_∞): max absolute column sum times max absolute row sum.
func compositeNorm(rows: Int, columns: Int, _ element: (Int, Int) -> Double) -> Double {
  var columnSums = [Double](repeating: 0, count: columns)
  var maxRow = 0.0
  for i in 0..<rows {
    var rowSum = 0.0
    for j in 0..<columns {
      let a = abs(element(i, j))
      rowSum += a
      columnSums[j] += a
    }
    maxRow = max(maxRow, rowSum)
  }
  return ((columnSums.max() ?? 0) * maxRow).squareRoot()
}
