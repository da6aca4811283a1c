/// Thin Householder QR of a tall `m × n` (m ≥ n) matrix, A = Q·R.
///
/// - Parameters:
///   - m: rows of A and Q, ≥ n.
///   - n: columns of A; order of R.
///   - a: `m × n`, row-major with leading dimension `lda` ≥ n. Not modified.
///   - lda: leading dimension of A, ≥ n.
///   - r: receives the `n × n` upper-triangular R (leading dimension `ldr` ≥ n),
///     with a non-negative diagonal so that the factorisation is unique for
///     full-rank A and both backends agree; entries below the diagonal are 0.
///   - ldr: leading dimension of R, ≥ n.
///   - q: if non-nil, receives the `m × n` Q with orthonormal columns.
///   - ldq: leading dimension of Q, ≥ n when `q` is given.
///   - threads: reaches OpenBLAS only (the Swift backend is single-threaded).
///   - backend: nil means ``Backends/current``.
///
/// Accuracy: backward stable (‖A − QR‖ ≈ n·ε·‖A‖), so the singular values of R
/// equal those of A to within that error. The Swift backend factors a
/// transposed copy so that every reflector update runs over contiguous memory,
/// and is single-threaded (`threads` only reaches OpenBLAS).
public func householderQR(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
  r: UnsafeMutablePointer<Float>, ldr: Int,
  q: UnsafeMutablePointer<Float>? = nil, ldq: Int = 0,
  threads: Int = 1, backend: (any LinearAlgebraBackend)? = nil
) {
  let kernel: StaticString = "householderQR"
  requireNonNegative(kernel, "n", n)
  if m < n { invalidArgument(kernel, "needs a tall matrix (m >= n), got m = \(m), n = \(n)") }
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  requireLeadingDimension(kernel, "ldr", ldr, columns: n, of: "R")
  if q != nil { requireLeadingDimension(kernel, "ldq", ldq, columns: n, of: "Q") }
  if threads < 1 { invalidArgument(kernel, "threads must be >= 1, got threads = \(threads)") }
  (backend ?? Backends.current).householderQR(
    m: m, n: n, a: a, lda: lda, r: r, ldr: ldr, q: q, ldq: ldq, threads: threads)
}

internal func swiftHouseholderQR(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
  r: UnsafeMutablePointer<Float>, ldr: Int,
  q: UnsafeMutablePointer<Float>?, ldq: Int
) {
  if n == 0 { return }
  let arena = ScratchArena.current
  // columns[j*m ..< (j+1)*m] holds column j of A: reflectors sweep contiguous rows.
  let columns = arena.buffer(.factorization, count: m * n + n, of: Float.self)
  let tau = columns + m * n
  for i in 0..<m {
    for j in 0..<n { columns[j * m + i] = a[i * lda + j] }
  }
  householderFactor(columns: columns, m: m, n: n, tau: tau)
  for i in 0..<n {
    let sign: Float = columns[i * m + i] < 0 ? -1 : 1
    for j in 0..<n { r[i * ldr + j] = j < i ? 0 : sign * columns[j * m + i] }
  }
  guard let q else { return }
  let basis = arena.buffer(.factorizationVectors, count: m * n, of: Float.self)
  householderFormQ(columns: UnsafePointer(columns), m: m, n: n, tau: UnsafePointer(tau), into: basis)
  for i in 0..<m {
    for j in 0..<n {
      let sign: Float = columns[j * m + j] < 0 ? -1 : 1
      q[i * ldq + j] = sign * basis[j * m + i]
    }
  }
}

/// In-place Householder QR of an m×n matrix stored column by column
/// (`columns[j*m + i]` = A[i, j]), LAPACK's geqr2 convention: on return the
/// upper triangle holds R and, below the diagonal, column j holds reflector j's
/// vector v (with implicit v[j] = 1); H_j = I − tau[j]·v·vᵀ.
internal func householderFactor<T: FactorizationScalar>(
  columns: UnsafeMutablePointer<T>, m: Int, n: Int, tau: UnsafeMutablePointer<T>
) {
  for j in 0..<n {
    let x = columns + j * m + j
    let length = m - j
    let alpha = x[0]
    let tailSquares = length > 1 ? T.dot(x + 1, x + 1, count: length - 1) : 0
    if tailSquares == 0 {
      // Already upper triangular in this column: H_j = I.
      tau[j] = 0
      continue
    }
    let norm = (alpha * alpha + tailSquares).squareRoot()
    let beta = alpha >= 0 ? -norm : norm
    tau[j] = (beta - alpha) / beta
    let inverse = 1 / (alpha - beta)
    for i in 1..<length { x[i] *= inverse }
    x[0] = beta
    // Apply H_j to the remaining columns: c ← c − tau·(vᵀc)·v.
    for column in (j + 1)..<n {
      let c = columns + column * m + j
      let w = c[0] + T.dot(x + 1, c + 1, count: length - 1)
      let factor = -tau[j] * w
      c[0] += factor
      T.axpy(factor, x + 1, c + 1, count: length - 1)
    }
  }
}

/// Forms the m×n Q = H_0 ⋯ H_{n−1}·[I; 0] column by column into `q`
/// (`q[j*m + i]` = Q[i, j]) from `householderFactor`'s output.
internal func householderFormQ<T: FactorizationScalar>(
  columns: UnsafePointer<T>, m: Int, n: Int, tau: UnsafePointer<T>, into q: UnsafeMutablePointer<T>
) {
  q.update(repeating: 0, count: m * n)
  for j in 0..<n { q[j * m + j] = 1 }
  for j in stride(from: n - 1, through: 0, by: -1) where tau[j] != 0 {
    let v = columns + j * m + j
    let length = m - j
    for column in j..<n {
      let c = q + column * m + j
      let w = c[0] + T.dot(v + 1, c + 1, count: length - 1)
      let factor = -tau[j] * w
      c[0] += factor
      T.axpy(factor, v + 1, c + 1, count: length - 1)
    }
  }
}

/// LQ factorisation of a wide `rows × columns` matrix (rows ≤ columns):
/// X = L·Q with L `rows × rows` lower triangular (non-negative diagonal) and Q
/// with orthonormal rows. Writes L (leading dimension `ldl` ≥ rows); Q is not
/// formed.
///
/// This is the R of the thin QR of Xᵀ (L = Rᵀ), computed from X's rows in
/// place of Xᵀ's columns, so no transpose is needed. Its use: for W with iid
/// N(0, s²) entries independent of X, X·W = L·(Q·W) and Q·W again has iid
/// N(0, s²) entries, so X·W can be sampled as L·G with G `rows × m` Gaussian
/// (mc-generic's sketch engine). Backward stable like the QR; single-threaded,
/// per-thread scratch only.
public func lqLowerFactor(
  rows: Int, columns: Int, x: UnsafePointer<Float>, ldx: Int,
  l: UnsafeMutablePointer<Float>, ldl: Int
) {
  let kernel: StaticString = "lqLowerFactor"
  requireNonNegative(kernel, "rows", rows)
  if columns < rows { invalidArgument(kernel, "needs a wide matrix (columns >= rows), got rows = \(rows), columns = \(columns)") }
  requireLeadingDimension(kernel, "ldx", ldx, columns: columns, of: "X")
  requireLeadingDimension(kernel, "ldl", ldl, columns: rows, of: "L")
  if rows == 0 { return }
  let arena = ScratchArena.current
  // Row i of X is column i of Xᵀ: copy rows into the column-major work layout.
  let work = arena.buffer(.factorization, count: rows * columns + rows, of: Float.self)
  for i in 0..<rows { (work + i * columns).update(from: x + i * ldx, count: columns) }
  householderFactor(columns: work, m: columns, n: rows, tau: work + rows * columns)
  for i in 0..<rows {
    // L[j][i] = R[i][j] for j ≥ i; flip column i of L where R's diagonal is negative.
    let sign: Float = work[i * columns + i] < 0 ? -1 : 1
    for j in 0..<rows { l[j * ldl + i] = j < i ? 0 : sign * work[j * columns + i] }
  }
}
