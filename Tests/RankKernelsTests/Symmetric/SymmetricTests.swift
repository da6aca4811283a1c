import Foundation
import RankKernels
import Testing

@Suite("Gram matrix, symmetric eigenvalues, pivoted Cholesky")
struct SymmetricTests {
  private let epsilon = Double.ulpOfOne

  /// Against a Float64 reference summed in a different order: both carry the
  /// summation error γ_k·Σ|x_ik·x_jk| at most (products of Floats are exact),
  /// so they differ by at most twice that.
  @Test(arguments: [(1, 1), (2, 3), (7, 17), (16, 768), (17, 769), (3, 1000)])
  func gramMatchesFloat64Reference(size: (rows: Int, columns: Int)) {
    let (n, k) = size
    let ld = k + 3  // a leading dimension larger than the row
    let x = gaussianMatrix(n, ld, seed: UInt64(n * 1000 + k))
    var gram = [Double](repeating: .nan, count: n * (n + 1))
    x.withUnsafeBufferPointer { xp in
      gram.withUnsafeMutableBufferPointer { gramMatrix(rows: n, columns: k, x: xp.baseAddress!, ldx: ld, gram: $0.baseAddress!, ldg: n + 1) }
    }
    let gamma = Double(k) * epsilon / (1 - Double(k) * epsilon)
    for i in 0..<n {
      for j in 0..<n {
        var reference = 0.0, magnitude = 0.0
        for p in stride(from: k - 1, through: 0, by: -1) {
          let product = Double(x[i * ld + p]) * Double(x[j * ld + p])
          reference += product
          magnitude += abs(product)
        }
        #expect(abs(gram[i * (n + 1) + j] - reference) <= 2 * gamma * magnitude, "G[\(i), \(j)]")
      }
    }
  }

  /// Rows are blocked three by two, but each entry is summed in one order
  /// whatever rows share its block: the Gram matrix of X's first m rows is
  /// bit for bit the leading block of X's (the engines rely on Gram matrices
  /// being a function of the two rows alone).
  @Test func entriesDoNotDependOnTheirBlock() {
    let n = 8, k = 300  // three 128-column chunks, the last one partial
    let x = gaussianMatrix(n, k, seed: 5)
    func gram(rows m: Int) -> [Double] {
      var g = [Double](repeating: .nan, count: m * m)
      x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gramMatrix(rows: m, columns: k, x: xp.baseAddress!, ldx: k, gram: $0.baseAddress!, ldg: m) } }
      return g
    }
    let full = gram(rows: n)
    for m in 1...n {
      let leading = gram(rows: m)
      for i in 0..<m {
        for j in 0..<m { #expect(leading[i * m + j].bitPattern == full[i * n + j].bitPattern, "m = \(m), G[\(i), \(j)]") }
      }
    }
  }

  /// A = U·diag(λ)·Uᵀ formed in Float64 (error ≲ n·ε·max|λ| per entry, so
  /// ≲ n²·ε·max|λ| in 2-norm), then Householder + QL adds a backward error of
  /// a small multiple of n·ε·‖A‖₂. The bound allows 4·n²·ε·max|λ|.
  @Test(arguments: [1, 2, 3, 7, 16, 65])
  func knownSpectrum(n: Int) {
    var lambda = (0..<n).map { i in Double(i % 5 == 3 ? -1 : 1) * pow(2, -Double(i) / 2) }
    if n >= 4 { lambda[2] = lambda[1] }  // a repeated eigenvalue
    let u = randomOrthonormal(n, n, seed: UInt64(n))
    var scaled = u
    for i in 0..<n { for j in 0..<n { scaled[i * n + j] *= lambda[j] } }
    var ut = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { ut[j * n + i] = u[i * n + j] } }
    let a = product(scaled, ut, n, n, n)
    var values = [Double](repeating: 0, count: n)
    a.withUnsafeBufferPointer { ap in
      values.withUnsafeMutableBufferPointer { symmetricEigenvalues(n: n, a: ap.baseAddress!, lda: n, into: $0.baseAddress!) }
    }
    let expected = lambda.sorted(by: >)
    let largest = lambda.map(abs).max()!
    let bound = 4 * Double(n * n) * epsilon * largest
    for i in 0..<n { #expect(abs(values[i] - expected[i]) <= bound, "λ_\(i): \(values[i]) vs \(expected[i])") }
  }

  @Test func diagonalZeroAndNonFinite() {
    let diagonal: [Double] = [3, 0, 0, 0, -1, 0, 0, 0, 2]
    var values = [Double](repeating: 0, count: 3)
    symmetricEigenvalues(n: 3, a: diagonal, lda: 3, into: &values)
    #expect(values == [3, 2, -1])
    symmetricEigenvalues(n: 3, a: [Double](repeating: 0, count: 9), lda: 3, into: &values)
    #expect(values == [0, 0, 0])
    var withNaN = diagonal
    withNaN[1] = .nan
    symmetricEigenvalues(n: 3, a: withNaN, lda: 3, into: &values)
    #expect(values.allSatisfy { $0.isNaN })
  }

  /// σ(X)² are the eigenvalues of X·Xᵀ: on a 16 × 768 matrix with a known
  /// spectrum the square roots agree with the singular values to the Gram
  /// route's resolution, |σ̂² − σ²| ≲ (k·ε + u)·‖X‖_F² (u: rounding X to Float).
  @Test func gramEigenvaluesGiveSingularValues() {
    let (n, k) = (16, 768)
    let sigma = (0..<n).map { pow(10, -Double($0) / 3) }
    let x = matrixWithSpectrum(sigma, rows: n, columns: k, seed: 9).map { Float($0) }
    var gram = [Double](repeating: 0, count: n * n), values = [Double](repeating: 0, count: n)
    gramMatrix(rows: n, columns: k, x: x, ldx: k, gram: &gram, ldg: n)
    symmetricEigenvalues(n: n, a: gram, lda: n, into: &values)
    let frobenius = frobeniusNorm(x)
    let bound = (Double(k) * epsilon + 2 * Double(Float.ulpOfOne)) * frobenius * frobenius
    for i in 0..<n { #expect(abs(values[i] - sigma[i] * sigma[i]) <= bound, "σ_\(i)²") }
  }

  /// F·Fᵀ reproduces A = B·Bᵀ (B n × r) to the pivoted Cholesky's backward
  /// error, a small multiple of n·ε·max(diag A); the returned rank is r and
  /// the columns of F from r on are zero.
  @Test(arguments: [(1, 1), (7, 7), (16, 5), (16, 16), (17, 1)])
  func pivotedCholeskyReproducesLowRankGram(size: (n: Int, rank: Int)) {
    let (n, r) = size
    let a = lowRankGram(n: n, rank: r, seed: UInt64(n * 7 + r))
    var f = [Double](repeating: .nan, count: n * n)
    let rank = pivotedCholesky(n: n, a: a, lda: n, factor: &f, ldf: n)
    #expect(rank == r)
    var ft = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { ft[j * n + i] = f[i * n + j] } }
    let reproduced = product(f, ft, n, n, n)
    let largestDiagonal = (0..<n).map { a[$0 * n + $0] }.max()!
    let bound = 8 * Double(n * n) * epsilon * largestDiagonal
    for index in 0..<(n * n) { #expect(abs(reproduced[index] - a[index]) <= bound) }
    for i in 0..<n { for j in r..<n { #expect(f[i * n + j] == 0) } }
  }

  /// The triangular form: L is zero above its diagonal and from column r on,
  /// L·Lᵀ reproduces A with rows and columns in pivot order, and scattering
  /// L's rows by that order gives the other entry point's F bit for bit.
  @Test(arguments: [(1, 1), (7, 3), (33, 33), (129, 40)])
  func pivotedCholeskyLowerFactorAndOrder(size: (n: Int, rank: Int)) {
    let (n, r) = size
    let a = lowRankGram(n: n, rank: r, seed: UInt64(n * 13 + r))
    var lower = [Double](repeating: .nan, count: n * n), order = [Int](repeating: -1, count: n)
    let rank = pivotedCholesky(n: n, a: a, lda: n, lower: &lower, ldl: n, order: &order)
    #expect(rank == r)
    #expect(order.sorted() == Array(0..<n))
    for i in 0..<n { for j in 0..<n where j > i || j >= r { #expect(lower[i * n + j] == 0) } }
    var lt = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { lt[j * n + i] = lower[i * n + j] } }
    let reproduced = product(lower, lt, n, n, n)
    let largestDiagonal = (0..<n).map { a[$0 * n + $0] }.max()!
    let bound = 8 * Double(n * n) * epsilon * largestDiagonal
    for i in 0..<n { for j in 0..<n { #expect(abs(reproduced[i * n + j] - a[order[i] * n + order[j]]) <= bound) } }
    var f = [Double](repeating: .nan, count: n * n)
    pivotedCholesky(n: n, a: a, lda: n, factor: &f, ldf: n)
    for i in 0..<n { #expect(Array(f[(order[i] * n)..<(order[i] * n + n)]) == Array(lower[(i * n)..<(i * n + n)])) }
  }

  /// A non-finite Gram matrix (an overflowed activation) gives a NaN factor,
  /// not the zero factor of a rank-0 matrix that the pivot test would read.
  @Test(arguments: [Double.nan, .infinity])
  func pivotedCholeskyOfNonFiniteIsNaN(value: Double) {
    var a: [Double] = [4, 1, 0, 1, 3, 0, 0, 0, 2]
    a[1] = value; a[3] = value
    var f = [Double](repeating: 0, count: 9)
    #expect(pivotedCholesky(n: 3, a: a, lda: 3, factor: &f, ldf: 3) == 0)
    #expect(f.allSatisfy { $0.isNaN })
  }

  @Test func pivotedCholeskyOfZeroIsZero() {
    var f = [Double](repeating: .nan, count: 9)
    #expect(pivotedCholesky(n: 3, a: [Double](repeating: 0, count: 9), lda: 3, factor: &f, ldf: 3) == 0)
    #expect(f.allSatisfy { $0 == 0 })
  }
}

/// B·Bᵀ (n × n, Float64) for a Gaussian B (n × rank): positive semidefinite of rank `rank`.
private func lowRankGram(n: Int, rank r: Int, seed: UInt64) -> [Double] {
  let b = gaussianMatrix(n, r, seed: seed).map(Double.init)
  var bt = [Double](repeating: 0, count: r * n)
  for i in 0..<n { for j in 0..<r { bt[j * n + i] = b[i * r + j] } }
  return product(b, bt, n, r, n)
}
