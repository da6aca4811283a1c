import Foundation
import RankKernels
import Testing

/// `bidiagonalSingularValues` (dqds) on bidiagonals with known or hard
/// spectra. dqds is relatively accurate: each value within a few ulps of
/// itself times the number of transforms touching it, so the tolerance is
/// 16·n·ε **of each value**, not of σ₁. A lost shift, a stale row or a wrong
/// deflation shows up as an error of 1e-8 … 1e-2 of the value (all seen while
/// writing it).
@Suite("Bidiagonal singular values (dqds)")
struct DifferentialQDTests {
  private func values(_ d: [Double], _ e: [Double]) -> [Double] {
    var out = [Double](repeating: .nan, count: d.count)
    let converged = bidiagonalSingularValues(count: d.count, diagonal: d, superdiagonal: e, into: &out)
    #expect(converged)
    return out
  }

  /// One-sided Jacobi on the bidiagonal as a dense Float32 matrix (its
  /// entries must be exact in Float32).
  private func jacobiReference(_ d: [Double], _ e: [Double]) -> [Double] {
    let n = d.count
    var dense = [Float](repeating: 0, count: n * n)
    for i in 0..<n { dense[i * n + i] = Float(d[i]) }
    for i in 0..<(n - 1) { dense[i * n + i + 1] = Float(e[i]) }
    var reference = [Double](repeating: 0, count: n)
    singularValuesByJacobi(m: n, n: n, a: dense, lda: n, into: &reference)
    return reference
  }

  private func expectRelative(_ found: [Double], _ expected: [Double], _ name: String) {
    let tolerance = 16 * Double(found.count) * Double.ulpOfOne
    for (i, (x, y)) in zip(found, expected).enumerated() {
      #expect(abs(x - y) <= tolerance * y, "\(name): σ[\(i)] = \(x), expected \(y)")
    }
  }

  /// All-ones bidiagonal: σₖ = 2·cos(kπ/(2n+1)), k = 1…n.
  @Test(arguments: [1, 2, 3, 17, 129])
  func onesBidiagonal(n: Int) {
    let expected = (1...n).map { 2 * cos(Double($0) * Double.pi / Double(2 * n + 1)) }
    expectRelative(values([Double](repeating: 1, count: n), [Double](repeating: 1, count: max(n - 1, 0))), expected, "ones \(n)")
  }

  /// Graded over 24 decades, both ways up (dqds reverses the second), against
  /// one-sided Jacobi on the same bidiagonal: its entries are powers of two,
  /// exact in Float32, and Jacobi is relatively accurate on B = C·D with C
  /// well conditioned, which a column-graded bidiagonal is.
  @Test(arguments: [7, 17, 65])
  func gradedAgainstJacobi(n: Int) {
    for upward in [false, true] {
      let exponent = { (i: Int) in upward ? -80 * (n - 1 - i) / (n - 1) : -80 * i / (n - 1) }
      let d = (0..<n).map { Double(sign: .plus, exponent: exponent($0), significand: 1.5) }
      let e = (0..<(n - 1)).map { Double(sign: .plus, exponent: exponent($0 + (upward ? 0 : 1)), significand: 1.25) }
      expectRelative(values(d, e), jacobiReference(d, e), "graded \(upward ? "upward" : "downward") \(n)")
    }
  }

  /// A zero on the diagonal gives an exact zero singular value (every
  /// positive shift then fails and dqds falls back to zero shifts); zeros on
  /// the superdiagonal split the problem; the rest must be untouched.
  @Test func zerosAndSplits() {
    let d = [3.0, 0, 2, 1, 4, 0.5]
    let e = [1.0, 1, 0, 2, 0]
    let reference = jacobiReference(d, e)
    let found = values(d, e)
    #expect(found.last == 0)
    expectRelative(Array(found.dropLast()), Array(reference.dropLast()), "zeros and splits")
  }

  /// A tight cluster (every σ within 1e-10 of 1) and extreme scales: the
  /// power-of-two scaling keeps 1e±300 entries from overflowing when squared.
  @Test func clustersAndScales() {
    let n = 17
    let cluster = values([Double](repeating: 1, count: n), [Double](repeating: 1e-10, count: n - 1))
    #expect(cluster.allSatisfy { abs($0 - 1) <= 2e-10 }, "cluster: \(cluster)")
    let reference = values((0..<n).map { 1 + Double($0) / 7 }, (0..<(n - 1)).map { 0.5 + Double($0) / 11 })
    for scale in [1e300, 1e-300] {
      let scaled = values((0..<n).map { (1 + Double($0) / 7) * scale }, (0..<(n - 1)).map { (0.5 + Double($0) / 11) * scale })
      expectRelative(scaled.map { $0 / scale }, reference, "scale \(scale)")
    }
  }

  @Test func degenerateInput() {
    #expect(values([0, 0, 0], [0, 0]) == [0, 0, 0])
    #expect(values([-2], []) == [2])
    #expect(values([1, .nan], [1]).allSatisfy { $0.isNaN })
    #expect(values([1, 2], [.infinity]).allSatisfy { $0.isNaN })
  }
}
