/// The pure-Swift kernels of this package (SIMD, AVX2+FMA on x86-64).
public struct SwiftBackend: LinearAlgebraBackend {
  public init() {}

  public var name: String { "swift" }

  public func sgemm(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    swiftSGEMM(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
  }

  public func lowerTriangularProduct(
    m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    swiftLowerTriangularProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, threads: threads)
  }

  public func sgemmStridedBatched(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int, threads: Int
  ) {
    // Parallelise over the batch when it can occupy every thread: each product
    // then runs single-threaded with no inner fork/join.
    if batchCount >= threads || m * n * k < GEMMTuning.parallelThreshold {
      let chunks = splitRange(batchCount, parts: max(1, threads) * 4, granule: 1)
      parallelForEach(taskCount: chunks.count, threads: threads) { chunk in
        for item in chunks[chunk] {
          swiftSGEMM(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
            a: a + item * strideA, lda: lda, b: b + item * strideB, ldb: ldb,
            beta: beta, c: c + item * strideC, ldc: ldc, threads: 1)
        }
      }
    } else {
      for item in 0..<batchCount {
        swiftSGEMM(
          transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
          a: a + item * strideA, lda: lda, b: b + item * strideB, ldb: ldb,
          beta: beta, c: c + item * strideC, ldc: ldc, threads: threads)
      }
    }
  }

  public func householderQR(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    r: UnsafeMutablePointer<Float>, ldr: Int,
    q: UnsafeMutablePointer<Float>?, ldq: Int, threads: Int
  ) {
    swiftHouseholderQR(m: m, n: n, a: a, lda: lda, r: r, ldr: ldr, q: q, ldq: ldq)
  }

  public func singularValues(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    into values: UnsafeMutablePointer<Double>
  ) {
    singularValuesByBidiagonalization(m: m, n: n, a: a, lda: lda, into: values)
  }
}
