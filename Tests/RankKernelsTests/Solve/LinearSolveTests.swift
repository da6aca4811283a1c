import Foundation
import RankKernels
import Testing

@Suite("Linear solve (LU with partial pivoting)")
struct LinearSolveTests {
  /// Gaussian A (κ moderate, growth factor small): the normwise backward error
  /// ‖A·X − B‖_∞ / (‖A‖_∞·‖X‖_∞ + ‖B‖_∞) of a stable solver is a small
  /// multiple of n·ε; 4·n·ε leaves room for the growth factor.
  @Test(arguments: [(1, 1), (7, 3), (17, 1), (65, 17), (127, 7), (200, 16)])
  func backwardErrorIsOfOrderNEpsilon(size: (n: Int, m: Int)) {
    let (n, m) = size
    let lda = n + 2  // a leading dimension larger than the row
    let a = gaussianMatrix(n, lda, seed: UInt64(n)).map(Double.init)
    let b = gaussianMatrix(n, m, seed: UInt64(n), stream: 1).map(Double.init)
    var x = b
    let solved = a.withUnsafeBufferPointer { ap in
      x.withUnsafeMutableBufferPointer { solveLinearSystem(n: n, rightHandSides: m, a: ap.baseAddress!, lda: lda, b: $0.baseAddress!, ldb: m) }
    }
    #expect(solved)
    var residual = 0.0, normA = 0.0, normX = 0.0, normB = 0.0
    for i in 0..<n {
      normA = max(normA, (0..<n).reduce(0) { $0 + abs(a[i * lda + $1]) })
      normX = max(normX, (0..<m).reduce(0) { $0 + abs(x[i * m + $1]) })
      normB = max(normB, (0..<m).reduce(0) { $0 + abs(b[i * m + $1]) })
      var rowResidual = 0.0
      for j in 0..<m {
        var sum = -b[i * m + j]
        for k in 0..<n { sum += a[i * lda + k] * x[k * m + j] }
        rowResidual += abs(sum)
      }
      residual = max(residual, rowResidual)
    }
    #expect(residual / (normA * normX + normB) <= 4 * Double(n) * Double.ulpOfOne)
  }

  /// A known solution through a permutation-needing matrix (zero leading pivot).
  @Test func needsPivoting() {
    let a: [Double] = [0, 2, 1, 1, 1, 0, 3, 0, 1]
    let expected: [Double] = [1, -2, 3]
    var b = (0..<3).map { i in (0..<3).reduce(0.0) { $0 + a[i * 3 + $1] * expected[$1] } }
    #expect(solveLinearSystem(n: 3, rightHandSides: 1, a: a, lda: 3, b: &b, ldb: 1))
    for i in 0..<3 { #expect(abs(b[i] - expected[i]) <= 8 * Double.ulpOfOne) }
  }

  /// A matrix with two equal rows is singular: reported, not divided by zero.
  @Test func singularMatrixIsReported() {
    let a: [Double] = [1, 2, 3, 4, 5, 6, 1, 2, 3]
    var b: [Double] = [1, 2, 3]
    #expect(!solveLinearSystem(n: 3, rightHandSides: 1, a: a, lda: 3, b: &b, ldb: 1))
  }
}
