import Foundation
@testable import RankKernels
import Testing

/// `singularValuesByBidiagonalization` against one-sided Jacobi on the same
/// Float32 matrix (Jacobi is accurate to Float64 level relative to each
/// value, so it serves as the reference). Both steps of the bidiagonal path
/// are backward stable, so each value is within c·q·ε·σ₁ of Jacobi's; c = 16
/// covers the QR, the bidiagonalisation and dqds with room, while a
/// wrong reflector or a lost off-diagonal is off by O(σ₁).
@Suite("Singular values by bidiagonalisation")
struct BidiagonalSVDTests {
  private func check(_ a: [Float], _ m: Int, _ n: Int, _ name: String, dqdsTransformsPerValue: Int = 100) {
    let q = min(m, n)
    var fast = [Double](repeating: .nan, count: q), reference = fast
    singularValuesByBidiagonalization(m: m, n: n, a: a, lda: n, into: &fast, dqdsTransformsPerValue: dqdsTransformsPerValue)
    singularValuesByJacobi(m: m, n: n, a: a, lda: n, into: &reference)
    let tolerance = 16 * Double(q) * Double.ulpOfOne * max(reference.first ?? 0, Double.leastNormalMagnitude)
    let worst = zip(fast, reference).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "\(name) \(m)×\(n): worst \(worst), tolerance \(tolerance)")
    let descending = fast.sorted(by: >)
    #expect(fast == descending, "\(name): descending")
  }

  /// Square, wide (transposed inside), tall enough for the QR first (m ≥ 1.6·n), awkward sizes.
  @Test(arguments: [(1, 1), (2, 3), (7, 7), (17, 5), (5, 17), (65, 65), (129, 129), (300, 40), (769, 17)])
  func gaussianMatrices(shape: (m: Int, n: Int)) {
    check(gaussianMatrix(shape.m, shape.n, seed: UInt64(shape.m * 1000 + shape.n)), shape.m, shape.n, "Gaussian")
  }

  /// Graded (σ from 1 to 1e-12) and rank-deficient (half the values exactly 0) spectra.
  @Test(arguments: [(17, 17), (65, 65), (200, 64)])
  func hardSpectra(shape: (m: Int, n: Int)) {
    let (m, n) = shape, q = min(m, n)
    let graded = (0..<q).map { pow(10.0, -12.0 * Double($0) / Double(max(q - 1, 1))) }
    check(matrixWithSpectrum(graded, rows: m, columns: n, seed: 3).map { Float($0) }, m, n, "graded")
    let deficient = (0..<q).map { $0 < q / 2 ? 2.0 : 0.0 }
    check(matrixWithSpectrum(deficient, rows: m, columns: n, seed: 4).map { Float($0) }, m, n, "rank \(q / 2)")
    var zero = [Double](repeating: .nan, count: q)
    singularValuesByBidiagonalization(m: m, n: n, a: [Float](repeating: 0, count: m * n), lda: n, into: &zero)
    #expect(zero.allSatisfy { $0 == 0 })
  }

  /// dqds given no transforms gives up, and the QL on the Golub–Kahan
  /// tridiagonal must then deliver the same values.
  @Test(arguments: [(3, 3), (17, 17), (65, 40), (40, 65)])
  func fallbackWhenDQDSGivesUp(shape: (m: Int, n: Int)) {
    let (m, n) = shape
    check(gaussianMatrix(m, n, seed: UInt64(7 * m + n)), m, n, "fallback", dqdsTransformsPerValue: 0)
    let graded = (0..<min(m, n)).map { pow(10.0, -10.0 * Double($0) / Double(max(min(m, n) - 1, 1))) }
    check(matrixWithSpectrum(graded, rows: m, columns: n, seed: 5).map { Float($0) }, m, n, "fallback graded", dqdsTransformsPerValue: 0)
  }

  @Test func nonFiniteGivesNaN() {
    var values = [Double](repeating: 0, count: 2)
    singularValuesByBidiagonalization(m: 2, n: 2, a: [1, .nan, 0, 1], lda: 2, into: &values)
    #expect(values.allSatisfy { $0.isNaN })
  }
}
