import RankKernels
import Testing

/// Sizes that straddle every tile and block edge: 1, primes below and above
/// the 6×16 tile, 65/127 around the blocking, 384/385 at the KC edge, 769 =
/// 2·KC + 1, and M = 150 past the MC = 144 row block.
private let awkwardShapes: [(m: Int, n: Int, k: Int)] = [
  (1, 1, 1), (1, 7, 17), (7, 1, 17), (17, 7, 1), (7, 17, 65), (65, 17, 7),
  (17, 65, 127), (127, 33, 17), (6, 16, 384), (13, 31, 385), (1, 769, 7), (5, 9, 769),
  (150, 40, 30), (33, 200, 20),
  // The small-product path (m ≤ 24, n ≤ 64, k ≤ 64) at and around its limits.
  (16, 16, 16), (16, 64, 16), (16, 16, 64), (24, 64, 64), (23, 17, 63), (19, 33, 5),
  // m = 16 past the small path (16-row in-place tiles on AVX-512): an odd
  // number of whole panels, a partial last one, a second depth block.
  (16, 80, 17), (16, 769, 17), (16, 65, 385),
]

@Suite("SGEMM against a Float64 reference")
struct GEMMTests {
  @Test(arguments: backendNames, [Transpose.noTranspose, .transpose])
  func awkwardShapesBothTransposes(backendName: String, transA: Transpose) {
    for transB in Transpose.allCases {
      for (m, n, k) in awkwardShapes {
        check(backendName, transA, transB, m, n, k, alpha: 1, beta: 0, padding: 0, threads: 2)
      }
    }
  }

  @Test(arguments: [(Float(2.3), Float(0)), (1, 1), (-0.5, 2.3), (0, 1.5)])
  func alphaBetaCombinations(alpha: Float, beta: Float) {
    for name in backendNames {
      check(name, .noTranspose, .transpose, 19, 23, 29, alpha: alpha, beta: beta, padding: 3, threads: 1)
      check(name, .transpose, .noTranspose, 70, 9, 300, alpha: alpha, beta: beta, padding: 0, threads: 2)
    }
  }

  @Test func resultDoesNotDependOnThreadCount() {
    let (m, n, k) = (37, 300, 70)
    let a = randomMatrix(m, k, seed: 3), b = randomMatrix(k, n, seed: 4)
    var results: [[Float]] = []
    for threads in [1, 2, 3, 8] {
      var c = [Float](repeating: 0, count: m * n)
      sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, threads: threads, backend: Backends.swift)
      results.append(c)
    }
    #expect(results.allSatisfy { $0 == results[0] })
  }

  /// The small-product path sums each element exactly as the blocked path
  /// does: a 24-row product (small path) equals the first 24 rows of the same
  /// product with a 25th row (blocked path), bit for bit.
  @Test(arguments: Transpose.allCases)
  func smallPathMatchesBlockedPathBitForBit(transB: Transpose) {
    let (k, n) = (40, 50)
    let a = randomMatrix(25, k, seed: 21), b = randomMatrix(transB == .noTranspose ? k : n, transB == .noTranspose ? n : k, seed: 22)
    let ldb = transB == .noTranspose ? n : k
    var small = [Float](repeating: 0, count: 24 * n), blocked = [Float](repeating: 0, count: 25 * n)
    sgemm(transB: transB, m: 24, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: &small, ldc: n, threads: 1, backend: Backends.swift)
    sgemm(transB: transB, m: 25, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: &blocked, ldc: n, threads: 1, backend: Backends.swift)
    #expect(Array(blocked[0..<(24 * n)]) == small)
  }

  /// m = 16 past the small path reads A in place with 16-row tiles on
  /// AVX-512; each element is summed as the 6-row tiles of a 17-row product
  /// sum it, bit for bit, whatever alpha and beta (and a partial last panel).
  @Test(arguments: [(Float(1), Float(0)), (-0.75, 1.5)])
  func sixteenRowsMatchBlockedPathBitForBit(alpha: Float, beta: Float) {
    let (k, n) = (40, 100)
    let a = randomMatrix(17, k, seed: 23), b = randomMatrix(k, n, seed: 24), start = randomMatrix(17, n, seed: 25)
    var sixteen = Array(start[0..<(16 * n)]), seventeen = start
    sgemm(m: 16, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n, beta: beta, c: &sixteen, ldc: n, threads: 1, backend: Backends.swift)
    sgemm(m: 17, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n, beta: beta, c: &seventeen, ldc: n, threads: 1, backend: Backends.swift)
    #expect(Array(seventeen[0..<(16 * n)]) == sixteen)
  }

  @Test func betaZeroDoesNotReadC() {
    let a = randomMatrix(7, 5, seed: 1), b = randomMatrix(5, 9, seed: 2)
    var c = [Float](repeating: .nan, count: 7 * 9)
    sgemm(m: 7, n: 9, k: 5, a: a, lda: 5, b: b, ldb: 9, c: &c, ldc: 9, threads: 1, backend: Backends.swift)
    #expect(c.allSatisfy { $0.isFinite })
  }

  @Test func nanInAPropagatesToItsRowOnly() {
    var a = randomMatrix(8, 8, seed: 1)
    a[3 * 8 + 2] = .nan
    let b = randomMatrix(8, 8, seed: 2)
    var c = [Float](repeating: 0, count: 64)
    sgemm(m: 8, n: 8, k: 8, a: a, lda: 8, b: b, ldb: 8, c: &c, ldc: 8, threads: 1, backend: Backends.swift)
    for i in 0..<8 {
      for j in 0..<8 { #expect(c[i * 8 + j].isNaN == (i == 3)) }
    }
  }

  @Test func zeroSizesAndZeroDepth() {
    var c: [Float] = [1, 2, 3, 4]
    let a: [Float] = [0], b: [Float] = [0]
    // k = 0: C = beta·C.
    sgemm(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: 0.5, c: &c, ldc: 2, threads: 1, backend: Backends.swift)
    #expect(c == [0.5, 1, 1.5, 2])
    sgemm(m: 0, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2, threads: 1, backend: Backends.swift)
    #expect(c == [0.5, 1, 1.5, 2])
  }

  @Test(arguments: backendNames)
  func stridedBatchedMatchesLoopOfProducts(backendName: String) {
    let (m, n, k, batch) = (16, 16, 65, 37)
    let a = randomMatrix(batch * m * k, 1, seed: 5), b = randomMatrix(batch * k * n, 1, seed: 6)
    var c = [Float](repeating: 0, count: batch * m * n)
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          sgemmStridedBatched(
            transB: .transpose, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, strideA: m * k,
            b: pb.baseAddress!, ldb: k, strideB: k * n, c: pc.baseAddress!, ldc: n, strideC: m * n,
            batchCount: batch, threads: 2, backend: backend(named: backendName))
        }
      }
    }
    for item in [0, 1, 17, batch - 1] {
      let reference = referenceGEMM(
        transA: .noTranspose, transB: .transpose, m: m, n: n, k: k, alpha: 1,
        a: Array(a[(item * m * k)..<((item + 1) * m * k)]), lda: k,
        b: Array(b[(item * k * n)..<((item + 1) * k * n)]), ldb: k, beta: 0, c: [], ldc: n)
      for index in 0..<(m * n) {
        #expect(abs(Double(c[item * m * n + index]) - reference.values[index]) <= reference.bounds[index])
      }
    }
  }

  /// Head blocks side by side in one wide output ([m, batch·n], ldc = batch·n,
  /// strideC = n), with A shared (strideA = 0): the layout of per-head
  /// products in attention.
  @Test(arguments: backendNames)
  func stridedBatchedSideBySideOutputs(backendName: String) {
    let (m, n, k, batch) = (7, 17, 9, 5)
    let a = randomMatrix(m, k, seed: 7), b = randomMatrix(batch * k * n, 1, seed: 8)
    let ldc = batch * n
    var c = [Float](repeating: .nan, count: m * ldc)
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          sgemmStridedBatched(
            m: m, n: n, k: k, a: pa.baseAddress!, lda: k, strideA: 0,
            b: pb.baseAddress!, ldb: n, strideB: k * n, c: pc.baseAddress!, ldc: ldc, strideC: n,
            batchCount: batch, threads: 2, backend: backend(named: backendName))
        }
      }
    }
    for item in 0..<batch {
      let reference = referenceGEMM(
        transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
        b: Array(b[(item * k * n)..<((item + 1) * k * n)]), ldb: n, beta: 0, c: [], ldc: n)
      for i in 0..<m {
        for j in 0..<n {
          #expect(abs(Double(c[i * ldc + item * n + j]) - reference.values[i * n + j]) <= reference.bounds[i * n + j])
        }
      }
    }
  }

  /// Runs one product with padded leading dimensions and compares every element
  /// with the Float64 reference under the γ_{k+2} bound.
  private func check(
    _ backendName: String, _ transA: Transpose, _ transB: Transpose, _ m: Int, _ n: Int, _ k: Int,
    alpha: Float, beta: Float, padding: Int, threads: Int
  ) {
    let rowsA = transA == .noTranspose ? m : k, columnsA = transA == .noTranspose ? k : m
    let rowsB = transB == .noTranspose ? k : n, columnsB = transB == .noTranspose ? n : k
    let lda = columnsA + padding, ldb = columnsB + padding, ldc = n + padding
    let a = randomMatrix(rowsA, lda, seed: UInt64(m * 1000 + k)), b = randomMatrix(rowsB, ldb, seed: UInt64(n * 1000 + k))
    var c = randomMatrix(m, ldc, seed: 99)
    let before = c
    let reference = referenceGEMM(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc)
    sgemm(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: &c, ldc: ldc, threads: threads, backend: backend(named: backendName))
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n {
        let error = abs(Double(c[i * ldc + j]) - reference.values[i * n + j])
        worst = max(worst, error / reference.bounds[i * n + j])
      }
      for j in n..<ldc { #expect(c[i * ldc + j] == before[i * ldc + j], "padding column written") }
    }
    #expect(worst <= 1, "\(backendName) \(transA)/\(transB) \(m)x\(n)x\(k) α=\(alpha) β=\(beta): error/bound = \(worst)")
  }
}

/// Array-based calls for the tests.
private func sgemm(
  transA: Transpose = .noTranspose, transB: Transpose = .noTranspose, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float = 0,
  c: inout [Float], ldc: Int, threads: Int, backend: any LinearAlgebraBackend
) {
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        RankKernels.sgemm(
          transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
          b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc, threads: threads,
          backend: backend)
      }
    }
  }
}
