/// Lower-triangular (or trapezoidal) matrix times a general matrix:
/// C = alpha·L·B, where L holds the entries A[i, j] with j ≤ i of the `m × k`
/// matrix A (k ≤ m), B is `k × n` and C `m × n`. For k = m this is BLAS's
/// `strmm` (side left, lower, no transpose, non-unit), out of place; k < m is
/// a rank-k factor whose columns from k on are zero. Row-major, leading
/// dimensions `lda ≥ k`, `ldb ≥ n`, `ldc ≥ n`; A's entries above the diagonal
/// are never read.
///
/// About half the multiply-adds of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:threads:backend:)``
/// on the full A: each 6-row tile of C stops its depth loop at its last row.
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
  parallelForEach(taskCount: ranges.count, threads: usable) { task in
    let j0 = ranges[task].lowerBound
    serialLowerTriangularProduct(
      m: m, n: ranges[task].count, k: k, alpha: alpha, a: a, lda: lda, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc)
  }
}

/// One thread's blocks of the triangular product, in the loop order of
/// `serialSGEMM` (B packed just in time when all rows fit in one MC block),
/// with two changes: the packed A panels are zeroed above the diagonal, and
/// the tile of rows r..<r+6 takes depth only up to r+6 (row i of L is zero
/// beyond column i), skipping tiles a depth block does not reach.
private func serialLowerTriangularProduct(
  m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
  let kcMax = min(k, GEMMTuning.depthBlock)
  let mcMax = min(roundUp(m, toMultipleOf: mr), GEMMTuning.rowBlock)
  let ncMax = min(roundUp(n, toMultipleOf: nr), GEMMTuning.columnBlock)
  let packPanelsJustInTime = m <= mcMax
  let arena = ScratchArena.current
  let packedA = arena.buffer(.gemmPackedA, count: mcMax * kcMax, of: Float.self)
  let chunkColumns = GEMMTuning.panelsPerChunk * nr
  let packedB = arena.buffer(
    .gemmPackedB, count: (packPanelsJustInTime ? min(chunkColumns, ncMax) : ncMax) * kcMax, of: Float.self)
  let edgeTile = arena.buffer(.gemmEdgeTile, count: mr * nr, of: Float.self)
  var jc = 0
  while jc < n {
    let nc = min(ncMax, n - jc)
    var pc = 0
    while pc < k {
      let kc = min(kcMax, k - pc)
      // The first depth block writes every row of C (row i has L[i, 0]);
      // later ones add to the rows they reach.
      let beta: Float = pc == 0 ? 0 : 1
      let bSource = b + pc * ldb + jc
      if !packPanelsJustInTime { packB(transposed: false, b: bSource, ldb: ldb, kc: kc, nc: nc, into: packedB) }
      // Rows above pc have no terms in this depth block.
      var ic = pc / mr * mr
      while ic < m {
        let mc = min(mcMax, m - ic)
        packA(transposed: false, a: a + ic * lda + pc, lda: lda, mc: mc, kc: kc, into: packedA)
        zeroAboveDiagonal(packedA, firstRow: ic, rows: mc, firstDepth: pc, depth: kc)
        var jr = 0
        while jr < nc {
          let columns = min(nr, nc - jr)
          let bPanel: UnsafePointer<Float>
          if packPanelsJustInTime {
            if jr % chunkColumns == 0 {
              packB(transposed: false, b: bSource + jr, ldb: ldb, kc: kc, nc: min(chunkColumns, nc - jr), into: packedB)
            }
            bPanel = UnsafePointer(packedB + (jr % chunkColumns) * kc)
          } else {
            bPanel = UnsafePointer(packedB + jr * kc)
          }
          var ir = 0
          while ir < mc {
            let rows = min(mr, mc - ir)
            let depth = min(kc, ic + ir + rows - pc)
            if depth > 0 {
              multiplyTile(
                rows: rows, columns: columns, k: depth, packedA: UnsafePointer(packedA + ir * kc), b: bPanel, ldb: nr,
                alpha: alpha, beta: beta, c: c + (ic + ir) * ldc + jc + jr, ldc: ldc, edgeTile: edgeTile)
            }
            ir += mr
          }
          jr += nr
        }
        ic += mc
      }
      pc += kc
    }
    jc += nc
  }
}

/// Zeroes the packed entries of rows firstRow..<firstRow+rows at depths
/// beyond their row (A's strict upper triangle, which L does not have).
@inline(__always)
private func zeroAboveDiagonal(_ packed: UnsafeMutablePointer<Float>, firstRow: Int, rows: Int, firstDepth: Int, depth: Int) {
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
