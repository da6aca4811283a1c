import RankKernels
import Testing

@Suite("Householder QR")
struct QRTests {
  private func factor(_ a: [Float], m: Int, n: Int, backendName: String) -> (q: [Float], r: [Float]) {
    var q = [Float](repeating: .nan, count: m * n), r = [Float](repeating: .nan, count: n * n)
    a.withUnsafeBufferPointer { pa in
      q.withUnsafeMutableBufferPointer { pq in
        r.withUnsafeMutableBufferPointer { pr in
          householderQR(
            m: m, n: n, a: pa.baseAddress!, lda: n, r: pr.baseAddress!, ldr: n, q: pq.baseAddress!, ldq: n,
            backend: backend(named: backendName))
        }
      }
    }
    return (q, r)
  }

  /// Backward error ‖A − QR‖_F and loss of orthogonality ‖QᵀQ − I‖_F of
  /// Householder QR are both O(m·n·u) (Higham, Thm 19.4) with small constants
  /// for vectorised inner products; the bound below is m·n·u.
  @Test(arguments: backendNames, [(1, 1), (7, 7), (17, 7), (65, 17), (768, 16), (127, 65), (769, 33)])
  func reconstructsAndIsOrthonormal(backendName: String, size: (m: Int, n: Int)) {
    let (m, n) = size
    let a = randomMatrix(m, n, seed: UInt64(m + 100 * n))
    let (q, r) = factor(a, m: m, n: n, backendName: backendName)
    let bound = Double(m * n) * unitRoundoff
    var residual = 0.0
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for l in 0...j { sum += Double(q[i * n + l]) * Double(r[l * n + j]) }
        residual += (sum - Double(a[i * n + j])) * (sum - Double(a[i * n + j]))
      }
    }
    #expect(residual.squareRoot() <= bound * frobeniusNorm(a))
    var orthogonality = 0.0
    for i in 0..<n {
      for j in 0..<n {
        var dot = 0.0
        for l in 0..<m { dot += Double(q[l * n + i]) * Double(q[l * n + j]) }
        orthogonality += (dot - (i == j ? 1 : 0)) * (dot - (i == j ? 1 : 0))
      }
    }
    #expect(orthogonality.squareRoot() <= bound * Double(n).squareRoot())
    for i in 0..<n {
      #expect(r[i * n + i] >= 0)
      for j in 0..<i { #expect(r[i * n + j] == 0) }
    }
  }

  @Test(.enabled(if: Backends.openBLAS != nil, "OpenBLAS libraries not installed"))
  func backendsAgreeOnR() throws {
    let (m, n) = (300, 24)
    let a = randomMatrix(m, n, seed: 8)
    let swift = factor(a, m: m, n: n, backendName: "swift")
    let openBLAS = factor(a, m: m, n: n, backendName: "openblas")
    // Both are within m·n·u·‖A‖ of the exact R; R is well conditioned here
    // (κ < 10 for a random 300×24), so the factors differ by about twice that.
    let difference = zip(swift.r, openBLAS.r).map { Double($0) - Double($1) }
    #expect(frobeniusNorm(difference) <= 2 * 10 * Double(m * n) * unitRoundoff * frobeniusNorm(a))
  }

  @Test func rankDeficientColumnsGiveZeroDiagonal() {
    // Column 2 = column 0 + column 1: R[2][2] must vanish to rounding.
    let (m, n) = (50, 4)
    var a = randomMatrix(m, n, seed: 9)
    for i in 0..<m { a[i * n + 2] = a[i * n] + a[i * n + 1] }
    let (_, r) = factor(a, m: m, n: n, backendName: "swift")
    #expect(Double(abs(r[2 * n + 2])) <= Double(m * n) * unitRoundoff * frobeniusNorm(a))
    #expect(r[3 * n + 3] > 0.1)
  }
}

@Suite("LQ factor")
struct LQTests {
  /// L·Lᵀ = X·Xᵀ (Q has orthonormal rows), L lower triangular, diag ≥ 0, and L
  /// equals the transpose of the QR of Xᵀ's R.
  @Test(arguments: [(1, 1), (7, 17), (16, 768), (17, 17), (8, 769)])
  func reproducesTheGramMatrix(size: (rows: Int, columns: Int)) {
    let (n, k) = size
    let x = randomMatrix(n, k, seed: UInt64(n * 1000 + k))
    var l = [Float](repeating: .nan, count: n * n)
    l.withUnsafeMutableBufferPointer { lqLowerFactor(rows: n, columns: k, x: x, ldx: k, l: $0.baseAddress!, ldl: n) }
    for i in 0..<n {
      #expect(l[i * n + i] >= 0)
      for j in (i + 1)..<max(i + 1, n) { #expect(l[i * n + j] == 0) }
    }
    var worst = 0.0
    for i in 0..<n {
      for j in 0..<n {
        var gram = 0.0, lowerGram = 0.0
        for p in 0..<k { gram += Double(x[i * k + p]) * Double(x[j * k + p]) }
        for p in 0..<n { lowerGram += Double(l[i * n + p]) * Double(l[j * n + p]) }
        // Backward error of Householder QR: O(k·n·u) relative to ‖x_i‖‖x_j‖.
        let rowNorms = (0..<k).reduce(0.0) { $0 + Double(x[i * k + $1] * x[i * k + $1]) }.squareRoot()
          * (0..<k).reduce(0.0) { $0 + Double(x[j * k + $1] * x[j * k + $1]) }.squareRoot()
        worst = max(worst, abs(gram - lowerGram) / (Double(k * n) * unitRoundoff * rowNorms + 1e-30))
      }
    }
    #expect(worst <= 1)
  }
}
