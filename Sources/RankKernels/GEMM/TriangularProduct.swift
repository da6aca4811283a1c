/// Lower-triangular (or trapezoidal) matrix times a general matrix:
/// C = alpha·L·B, where L holds the entries A[i, j] with j ≤ i of the `m × k`
/// matrix A (k ≤ m), B is `k × n` and C `m × n`. For k = m this is BLAS's
/// `strmm` (side left, lower, no transpose, non-unit), out of place; k < m is
/// a rank-k factor whose columns from k on are zero. Row-major, leading
/// dimensions `lda ≥ k`, `ldb ≥ n`, `ldc ≥ n`; A's entries above the diagonal
/// take no part (packing copies them and zeroes them: NaN there is harmless).
///
/// About half the multiply-adds of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:threads:backend:)``
/// on the full A: each 6-row tile of C stops its depth loop at its last row
/// (except m = 16 on AVX-512, where one 16-row pass over the zeroed A is faster).
/// Each element of C is summed over k in increasing order, as the general
/// product sums it, so C equals the general product of A with its strict upper
/// triangle zeroed, bit for bit (up to the sign of exact zeros). Results do
/// not depend on `threads` (column blocks per thread, as in `sgemm`).
/// The sketch engine multiplies its Cholesky factors by Gaussian blocks this
/// way.
public func lowerTriangularProduct(
  m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = Threading.defaultThreadCount,
  backend: (any LinearAlgebraBackend)? = nil
) {
  let kernel: StaticString = "lowerTriangularProduct"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireNonNegative(kernel, "k", k)
  if k > m { invalidArgument(kernel, "k must be <= m (L is m × k lower trapezoidal), got k = \(k), m = \(m)") }
  requireLeadingDimension(kernel, "lda", lda, columns: k, of: "A")
  requireLeadingDimension(kernel, "ldb", ldb, columns: n, of: "B")
  requireLeadingDimension(kernel, "ldc", ldc, columns: n, of: "C")
  if threads < 1 { invalidArgument(kernel, "threads must be >= 1, got threads = \(threads)") }
  (backend ?? Backends.current).lowerTriangularProduct(
    m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, threads: threads)
}

/// The Swift backend's ``lowerTriangularProduct(m:n:alpha:a:lda:b:ldb:c:ldc:threads:backend:)``.
internal func swiftLowerTriangularProduct(
  m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
  if m == 0 || n == 0 { return }
  if k == 0 {
    scaleMatrix(m: m, n: n, beta: 0, c: c, ldc: ldc)
    return
  }
  let usable = m * n * k / 2 < GEMMTuning.parallelThreshold ? 1 : max(1, threads)
  let ranges = splitRange(n, parts: usable, granule: GEMMMicroKernel.columns)
  let sixteenRows = GEMMMicroKernel.hasTwelveRowTile && m == 16
  parallelForEach(taskCount: ranges.count, threads: usable) { task in
    let j0 = ranges[task].lowerBound
    if sixteenRows {
      sixteenRowLowerTriangularProduct(
        n: ranges[task].count, k: k, alpha: alpha, a: a, lda: lda, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc)
    } else {
      serialLowerTriangularProduct(
        m: m, n: ranges[task].count, k: k, alpha: alpha, a: a, lda: lda, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc)
    }
  }
}

/// m = 16 on AVX-512 (the sampling engines' 16-token factors times Gaussian
/// blocks, e.g. the MLP's 16 × 16 · 16 × 3072): L copied with its upper
/// triangle zeroed, then the 16-row tiles read it and B in place. That is
/// the general product of the zeroed A, which the triangular loops equal
/// bit for bit (up to the sign of exact zeros); it does all 16 × 16
/// multiply-adds where three 6-row tiles stop at depths 6, 12 and 16, and
/// saves packing B and those tiles' short, latency-bound chains (6, 6 and 4).
/// A partial last panel goes through the general loops.
private func sixteenRowLowerTriangularProduct(
  n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let m = 16, nr = GEMMMicroKernel.columns
  let zeroed = ScratchArena.current.buffer(.gemmPackedA, count: m * k, of: Float.self)
  for i in 0..<m {
    for j in 0..<k { zeroed[i * k + j] = j <= i ? a[i * lda + j] : 0 }
  }
  let fullColumns = n / nr * nr
  var j0 = 0
  while j0 + 2 * nr <= fullColumns {
    GEMMMicroKernel.doubleTileReadingAInPlace(
      k: k, a: zeroed, lda: k, b: b + j0, ldb: ldb, alpha: alpha, beta: 0, c: c + j0, ldc: ldc)
    j0 += 2 * nr
  }
  if j0 < fullColumns {
    GEMMMicroKernel.wideTileReadingAInPlace(
      rows: 16, k: k, a: zeroed, lda: k, b: b + j0, ldb: ldb, alpha: alpha, beta: 0, c: c + j0, ldc: ldc)
    j0 += nr
  }
  // `zeroed` is not read past this point: the general loops may reuse its scratch slot.
  if j0 < n {
    serialLowerTriangularProduct(m: m, n: n - j0, k: k, alpha: alpha, a: a, lda: lda, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc)
  }
}

/// One thread's column block: the blocked SGEMM's loops in their
/// lower-triangular form (see `blockedProduct`). The first depth block
/// writes every row of C (row i has L[i, 0]); later ones add to the rows
/// they reach.
@inline(never)
private func serialLowerTriangularProduct(
  m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int
) {
  blockedProduct(
    transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    beta: 0, c: c, ldc: ldc, lowerTriangularA: true)
}

/// Zeroes the packed entries of rows firstRow..<firstRow+rows at depths
/// beyond their row (A's strict upper triangle, which L does not have).
@inline(__always)
internal func zeroAboveDiagonal(_ packed: UnsafeMutablePointer<Float>, firstRow: Int, rows: Int, firstDepth: Int, depth: Int) {
  let mr = GEMMMicroKernel.rows
  for r in 0..<roundUp(rows, toMultipleOf: mr) {
    let row = firstRow + r, panel = packed + (r / mr) * mr * depth
    // Depth p (absolute firstDepth + p) is above the diagonal when > row.
    var p = max(0, row - firstDepth + 1)
    while p < depth {
      panel[p * mr + r % mr] = 0
      p += 1
    }
  }
}
