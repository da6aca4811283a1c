import RankKernels
import Testing

/// `lowerTriangularProduct` against a Float64 reference built from the lower
/// triangle only, with NaN above the diagonal so that using it would show.
@Suite("Lower-triangular product against a Float64 reference")
struct TriangularProductTests {
  /// (m, n, k): tile edges (6 rows, 16 columns), k < m (a rank-k factor),
  /// m = 150 past the MC = 144 row block, k = 385 past the KC = 384 depth block.
  static let shapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (7, 17, 7), (17, 7, 5), (17, 65, 1), (65, 33, 65), (127, 769, 127), (128, 768, 97),
    (150, 40, 150), (400, 20, 385),
    // m = 16 (16-row tiles on AVX-512): whole panels in pairs and alone, a partial last panel, k < m.
    (16, 3072, 16), (16, 80, 16), (16, 65, 7), (16, 1, 16),
  ]

  @Test(arguments: backendNames)
  func awkwardShapes(backendName: String) {
    for (m, n, k) in Self.shapes {
      for alpha: Float in [1, -0.75] { check(backendName, m, n, k, alpha: alpha, threads: 2) }
    }
  }

  /// The sketch engine relies on this: the product equals the general SGEMM
  /// of A with its upper triangle zeroed, bit for bit, so factors kept
  /// triangular change no result.
  @Test(arguments: [(16, 768, 16), (16, 65, 11), (128, 768, 128), (128, 3072, 61)])
  func equalsGeneralProductOfZeroedA(shape: (m: Int, n: Int, k: Int)) {
    let (m, n, k) = shape
    var a = randomMatrix(m, k, seed: 11)
    for i in 0..<m { for j in 0..<k where j > i { a[i * k + j] = 0 } }
    let b = randomMatrix(k, n, seed: 12)
    var general = [Float](repeating: 0, count: m * n), triangular = general
    sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &general, ldc: n, threads: 1, backend: Backends.swift)
    lowerTriangularProduct(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &triangular, ldc: n, threads: 1, backend: Backends.swift)
    #expect(triangular == general)
  }

  @Test func resultDoesNotDependOnThreadCount() {
    let (m, n, k) = (70, 300, 70)
    let a = randomMatrix(m, k, seed: 3), b = randomMatrix(k, n, seed: 4)
    var results: [[Float]] = []
    for threads in [1, 2, 3] {
      var c = [Float](repeating: 0, count: m * n)
      lowerTriangularProduct(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, threads: threads, backend: Backends.swift)
      results.append(c)
    }
    #expect(results.allSatisfy { $0 == results[0] })
  }

  @Test(arguments: backendNames)
  func zeroDepthWritesZeros(backendName: String) {
    var c = [Float](repeating: .nan, count: 6)
    lowerTriangularProduct(m: 2, n: 3, k: 0, a: [0], lda: 1, b: [0], ldb: 3, c: &c, ldc: 3, threads: 1, backend: backend(named: backendName))
    #expect(c == [0, 0, 0, 0, 0, 0])
  }

  private func check(_ backendName: String, _ m: Int, _ n: Int, _ k: Int, alpha: Float, threads: Int) {
    let lda = k + 3, ldb = n + 1, ldc = n + 2
    var a = randomMatrix(m, lda, seed: UInt64(m * 1000 + k))
    var lower = a
    for i in 0..<m {
      for j in 0..<lda where j > i || j >= k {
        if j < k { a[i * lda + j] = .nan }  // above the diagonal: must not be read
        lower[i * lda + j] = 0
      }
    }
    let b = randomMatrix(k, ldb, seed: UInt64(n * 1000 + k))
    var c = [Float](repeating: 7, count: m * ldc)
    let reference = referenceGEMM(
      transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: alpha, a: lower, lda: lda, b: b, ldb: ldb,
      beta: 0, c: [], ldc: ldc)
    lowerTriangularProduct(
      m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc, threads: threads,
      backend: backend(named: backendName))
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n { worst = max(worst, abs(Double(c[i * ldc + j]) - reference.values[i * n + j]) / reference.bounds[i * n + j]) }
      for j in n..<ldc { #expect(c[i * ldc + j] == 7, "padding column written") }
    }
    #expect(worst <= 1, "\(backendName) \(m)x\(n)x\(k) α=\(alpha): error/bound = \(worst)")
  }
}
