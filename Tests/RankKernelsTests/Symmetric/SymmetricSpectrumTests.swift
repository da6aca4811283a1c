import Foundation
import RankKernels
import Testing

/// `symmetricEigenvalues` on matrices with known or hard spectra.
///
/// Tolerance: the algorithm is backward stable (Householder tridiagonalisation
/// and QL rotations), so each computed eigenvalue is within c·n·ε·‖A‖₂ of an
/// exact one (Weyl's inequality on the backward error); for the constructed
/// Q·diag(λ)·Qᵀ, forming A in Float64 from a Q orthonormal to O(n·ε) adds an
/// error of the same form. c = 8 covers both with room; an error in the
/// algorithm (a wrong shift, a lost reflector) is off by O(‖A‖).
@Suite("Symmetric eigenvalues on known and hard spectra")
struct SymmetricSpectrumTests {
  // 257: a trailing matrix of 0.5 MB, beyond L2, at the first steps.
  static let sizes = [1, 2, 3, 17, 129, 257]

  private func eigenvalues(_ a: [Double], _ n: Int) -> [Double] {
    var values = [Double](repeating: .nan, count: n)
    a.withUnsafeBufferPointer { symmetricEigenvalues(n: n, a: $0.baseAddress!, lda: n, into: &values) }
    return values
  }

  private func expectSpectrum(_ a: [Double], _ n: Int, _ exact: [Double], norm: Double, _ name: String) {
    let got = eigenvalues(a, n), expected = exact.sorted(by: >)
    let tolerance = 8 * Double(n) * Double.ulpOfOne * max(norm, Double.leastNormalMagnitude)
    let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "\(name) n = \(n): worst error \(worst), tolerance \(tolerance)")
    #expect(got == got.sorted(by: >), "\(name): descending")
  }

  /// Q·diag(λ)·Qᵀ with a random orthogonal Q.
  private func similarity(_ lambda: [Double], seed: UInt64) -> [Double] {
    let n = lambda.count
    let q = randomOrthonormal(n, n, seed: seed)
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n {
      var sum = 0.0
      for k in 0..<n { sum += q[i * n + k] * lambda[k] * q[j * n + k] }
      a[i * n + j] = sum
    } }
    return a
  }

  /// Clement's matrix: tridiagonal, off-diagonal √(i(n−i)), eigenvalues ±(n−1), ±(n−3), … exactly.
  private func clementMatrix(_ n: Int) -> (matrix: [Double], eigenvalues: [Double]) {
    var a = [Double](repeating: 0, count: n * n)
    for i in 1..<max(1, n) {
      let value = (Double(i) * Double(n - i)).squareRoot()
      a[(i - 1) * n + i] = value
      a[i * n + i - 1] = value
    }
    return (a, (0..<n).map { Double(n - 1 - 2 * $0) })
  }

  @Test(arguments: sizes)
  func clement(n: Int) {
    let (a, exact) = clementMatrix(n)
    expectSpectrum(a, n, exact, norm: Double(max(n - 1, 1)), "Clement")
  }

  /// Wilkinson's W21+ (diagonal |10 − i|, off-diagonal 1): pairs of eigenvalues
  /// agreeing to 14 digits. Reference: Sturm-sequence bisection in Float64.
  @Test func wilkinsonPlus() {
    let n = 21
    var a = [Double](repeating: 0, count: n * n)
    var diagonal = [Double](repeating: 0, count: n)
    for i in 0..<n {
      diagonal[i] = Double(abs(10 - i))
      a[i * n + i] = diagonal[i]
      if i + 1 < n { a[i * n + i + 1] = 1; a[(i + 1) * n + i] = 1 }
    }
    let reference = (0..<n).map { k in bisectionEigenvalue(diagonal: diagonal, offDiagonal: 1, index: k) }
    expectSpectrum(a, n, reference, norm: 11, "W21+")
    #expect(abs(reference[0] - 10.746194182903) < 1e-11)  // the largest, a known value
  }

  @Test(arguments: sizes)
  func gradedDiagonalUnderOrthogonalSimilarity(n: Int) {
    let steps = Double(max(n - 1, 1))
    let lambda: [Double] = (0..<n).map { k in pow(10.0, -12.0 * Double(k) / steps) }
    expectSpectrum(similarity(lambda, seed: UInt64(n)), n, lambda, norm: 1, "graded")
  }

  @Test(arguments: sizes)
  func tightClusters(n: Int) {
    let lambda: [Double] = (0..<n).map { k in
      let centre: Double = k % 2 == 0 ? 1.0 : -2.0
      return centre + Double(k / 2) * 1e-13
    }
    expectSpectrum(similarity(lambda, seed: UInt64(100 + n)), n, lambda, norm: 2, "clusters")
  }

  /// `symmetricEigenvalueCount` at every threshold between two eigenvalues
  /// that are farther from it than the backward error (8·n·ε·‖A‖, as above)
  /// must give the exact count; closer thresholds are skipped, since there
  /// the count is only as exact as the eigenvalues.
  private func expectCounts(_ a: [Double], _ n: Int, _ exact: [Double], norm: Double, _ name: String) {
    let sorted = exact.sorted(by: >)
    let tolerance = 8 * Double(n) * Double.ulpOfOne * max(norm, Double.leastNormalMagnitude)
    var checked = 0
    // Every threshold for small n; about a dozen, the ends included, for large
    // (each count is a tridiagonal reduction: the suite must stay fast).
    let step = max(1, n / 12)
    for index in Set(Array(stride(from: 0, through: n, by: step)) + [n]).sorted() {
      let above = index == 0 ? sorted[0] + 2 * norm + 1 : sorted[index - 1]
      let below = index == n ? sorted[n - 1] - 2 * norm - 1 : sorted[index]
      let threshold = (above + below) / 2
      if min(above - threshold, threshold - below) <= tolerance { continue }
      let count = a.withUnsafeBufferPointer { symmetricEigenvalueCount(n: n, a: $0.baseAddress!, lda: n, greaterThan: threshold) }
      #expect(count == index, "\(name) n = \(n): \(count) eigenvalues above \(threshold), expected \(index)")
      checked += 1
    }
    #expect(checked >= 2, "\(name): thresholds below and above the whole spectrum at least")
  }

  @Test(arguments: sizes)
  func eigenvalueCountsOnKnownSpectra(n: Int) {
    let (clement, exact) = clementMatrix(n)
    expectCounts(clement, n, exact, norm: Double(max(n - 1, 1)), "Clement")
    let steps = Double(max(n - 1, 1))
    let graded: [Double] = (0..<n).map { k in pow(10.0, -12.0 * Double(k) / steps) }
    expectCounts(similarity(graded, seed: UInt64(n)), n, graded, norm: 1, "graded")
    let deficient: [Double] = (0..<n).map { $0 < n / 2 ? 3.0 : 0.0 }
    expectCounts(similarity(deficient, seed: UInt64(200 + n)), n, deficient, norm: 3, "rank \(n / 2)")
  }

  /// Equal eigenvalues are not counted (the rank metrics count σ > tolerance),
  /// a zero matrix has none above 0 and all n above −1, and a non-finite
  /// matrix or threshold counts 0.
  @Test func eigenvalueCountEdgeCases() {
    let n = 5
    let zero = [Double](repeating: 0, count: n * n)
    #expect(symmetricEigenvalueCount(n: n, a: zero, lda: n, greaterThan: 0) == 0)
    #expect(symmetricEigenvalueCount(n: n, a: zero, lda: n, greaterThan: -1) == n)
    var identity = zero
    for i in 0..<n { identity[i * n + i] = 2 }
    #expect(symmetricEigenvalueCount(n: n, a: identity, lda: n, greaterThan: 2) == 0)
    #expect(symmetricEigenvalueCount(n: n, a: identity, lda: n, greaterThan: 2.0.nextDown) == n)
    #expect(symmetricEigenvalueCount(n: n, a: identity, lda: n, greaterThan: .nan) == 0)
    var broken = identity
    broken[1] = .infinity
    #expect(symmetricEigenvalueCount(n: n, a: broken, lda: n, greaterThan: 0) == 0)
    // Entries near the overflow threshold: the Sturm recurrence squares them.
    var huge = identity
    for i in 0..<n { huge[i * n + i] = 1e300 * Double(i + 1) }
    #expect(symmetricEigenvalueCount(n: n, a: huge, lda: n, greaterThan: 2.5e300) == 3)
    #expect(symmetricEigenvalueCount(n: 0, a: [], lda: 1, greaterThan: 0) == 0)
  }

  @Test(arguments: sizes)
  func zeroAndRankDeficient(n: Int) {
    #expect(eigenvalues([Double](repeating: 0, count: n * n), n) == [Double](repeating: 0, count: n))
    let lambda: [Double] = (0..<n).map { $0 < n / 2 ? 3.0 : 0.0 }
    expectSpectrum(similarity(lambda, seed: UInt64(200 + n)), n, lambda, norm: 3, "rank \(n / 2)")
  }
}

/// The k-th largest eigenvalue (k from 0) of the symmetric tridiagonal with
/// diagonal d and constant off-diagonal b, by bisection on the Sturm count
/// (the number of eigenvalues below x), to the last bit.
func bisectionEigenvalue(diagonal d: [Double], offDiagonal b: Double, index k: Int) -> Double {
  let n = d.count
  func countBelow(_ x: Double) -> Int {
    var count = 0, q = 1.0
    for i in 0..<n {
      q = d[i] - x - (i > 0 ? b * b / q : 0)
      if q == 0 { q = -Double.ulpOfOne * (abs(d[i]) + abs(b) + 1) }
      if q < 0 { count += 1 }
    }
    return count
  }
  let bound = d.map(abs).max()! + 2 * abs(b)
  var low = -bound, high = bound
  let target = n - k  // the k-th largest has n − k − 1 eigenvalues below it
  for _ in 0..<200 {
    let middle = (low + high) / 2
    if middle == low || middle == high { break }
    if countBelow(middle) >= target { high = middle } else { low = middle }
  }
  return (low + high) / 2
}
