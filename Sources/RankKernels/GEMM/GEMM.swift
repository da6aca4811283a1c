/// Single-precision general matrix multiply, C = alpha·op(A)·op(B) + beta·C.
///
/// All matrices are **row-major**: element (i, j) of A is `a[i*lda + j]`.
/// op(A) is m×k (A is stored m×k, or k×m when `transA == .transpose`); op(B)
/// is k×n; C is m×n.
///
/// - Parameters:
///   - transA: whether A is stored transposed (op(A) = Aᵀ).
///   - transB: whether B is stored transposed (op(B) = Bᵀ).
///   - m: rows of op(A) and C.
///   - n: columns of op(B) and C.
///   - k: columns of op(A), rows of op(B).
///   - alpha: scales op(A)·op(B).
///   - a: A, row-major.
///   - lda: leading dimension of A as stored: ≥ k without transpose, ≥ m with.
///   - b: B, row-major.
///   - ldb: leading dimension of B as stored: ≥ n without transpose, ≥ k with.
///   - beta: scales C before the product is added; 0 means C is only written.
///   - c: C, row-major; read (unless `beta == 0`) and overwritten.
///   - ldc: leading dimension of C, ≥ n.
///   - threads: upper bound on threads (default: every online processor).
///     `1` runs on the calling thread. Results are bitwise identical for any
///     value: each element of C is accumulated over k in the same order.
///   - backend: the implementation; nil means ``Backends/current``.
///
/// NaN and infinity propagate as IEEE arithmetic dictates, except that with
/// `beta == 0` C is never read (BLAS semantics: prior NaNs in C are discarded).
/// Invalid sizes or leading dimensions stop the program with a message naming
/// the argument and its value.
public func sgemm(
  transA: Transpose = .noTranspose, transB: Transpose = .noTranspose,
  m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
  threads: Int = Threading.defaultThreadCount,
  backend: (any LinearAlgebraBackend)? = nil
) {
  validateGEMM("sgemm", transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, threads: threads)
  (backend ?? Backends.current).sgemm(
    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
}

/// `batchCount` independent products C_i = alpha·op(A_i)·op(B_i) + beta·C_i,
/// where A_i starts at `a + i*strideA` (likewise B_i, C_i).
///
/// Shapes, layouts and semantics as in
/// ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:threads:backend:)``.
/// The Swift backend runs whole products in parallel when the batch is at least
/// `threads` long, so thousands of small products (e.g. 16×16×768) pay no
/// per-product dispatch. Output blocks must not overlap.
public func sgemmStridedBatched(
  transA: Transpose = .noTranspose, transB: Transpose = .noTranspose,
  m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, strideA: Int,
  b: UnsafePointer<Float>, ldb: Int, strideB: Int,
  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
  batchCount: Int,
  threads: Int = Threading.defaultThreadCount,
  backend: (any LinearAlgebraBackend)? = nil
) {
  let kernel: StaticString = "sgemmStridedBatched"
  validateGEMM(kernel, transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, threads: threads)
  requireNonNegative(kernel, "batchCount", batchCount)
  requireNonNegative(kernel, "strideA", strideA)
  requireNonNegative(kernel, "strideB", strideB)
  // Outputs may be stacked (each block below the previous one) or side by
  // side within the rows of one wide matrix (head blocks of a [n, H·d] array).
  let stacked = strideC >= (m - 1) * ldc + n
  let sideBySide = strideC >= n && (batchCount - 1) * strideC + n <= ldc
  if batchCount > 1 && m > 0 && n > 0 && !stacked && !sideBySide {
    invalidArgument(
      kernel,
      "strideC (\(strideC)) must be >= (m-1)*ldc + n = \((m - 1) * ldc + n) (stacked outputs) or, for outputs side by side, >= n = \(n) with (batchCount-1)*strideC + n <= ldc = \(ldc), so outputs do not overlap")
  }
  (backend ?? Backends.current).sgemmStridedBatched(
    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
    a: a, lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB,
    beta: beta, c: c, ldc: ldc, strideC: strideC, batchCount: batchCount, threads: threads)
}

private func validateGEMM(
  _ kernel: StaticString, transA: Transpose, transB: Transpose,
  m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, threads: Int
) {
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireNonNegative(kernel, "k", k)
  requireLeadingDimension(kernel, "lda", lda, columns: transA == .noTranspose ? k : m, of: "A")
  requireLeadingDimension(kernel, "ldb", ldb, columns: transB == .noTranspose ? n : k, of: "B")
  requireLeadingDimension(kernel, "ldc", ldc, columns: n, of: "C")
  if threads < 1 { invalidArgument(kernel, "threads must be >= 1, got threads = \(threads)") }
}
