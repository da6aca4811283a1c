/// The singular values of an `m × n` Float32 matrix, computed in Float64, in
/// descending order (min(m, n) of them), to LAPACK dgesdd's accuracy: each is
/// within about c·min(m, n)·ε·σ₁ of the exact one (absolute, not relative to
/// itself; for tiny singular values that matter on their own, use
/// ``singularValuesByJacobi(m:n:a:lda:into:)``). What
/// ``singularValues(m:n:a:lda:into:backend:)`` runs on the Swift backend.
///
/// Householder QR first when the matrix is at least 1.6 times as tall as wide
/// (as dgesdd), then Golub–Kahan bidiagonalisation B = Uᵀ·A·V, then B's
/// singular values by dqds (``bidiagonalSingularValues(count:diagonal:superdiagonal:into:)``,
/// as dgesdd's dlasq1): the reductions are backward stable and dqds is
/// relatively accurate on B, so the error is that of a perturbation of A of
/// size ε·‖A‖₂.
/// Cost ≈ 4mn² − (4/3)n³ flops (2mn² + (2/3)n³ with the QR) plus O(n²).
/// Single-threaded. A matrix with NaN or ±inf yields NaN singular values.
public func singularValuesByBidiagonalization(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into values: UnsafeMutablePointer<Double>
) {
  singularValuesByBidiagonalization(m: m, n: n, a: a, lda: lda, into: values, dqdsTransformsPerValue: 100)
}

/// As the public entry, with dqds's iteration limit as a parameter (0 makes
/// dqds give up at once: how the tests reach the fallback below).
internal func singularValuesByBidiagonalization(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into values: UnsafeMutablePointer<Double>,
  dqdsTransformsPerValue: Int
) {
  let kernel: StaticString = "singularValuesByBidiagonalization"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  let q = min(m, n)
  if q == 0 { return }
  let p = max(m, n)
  let arena = ScratchArena.current
  let columns = arena.buffer(.factorization, count: p * q + 6 * q, of: Double.self)
  if !widenToTallColumns(m: m, n: n, a: a, lda: lda, into: columns) {
    values.update(repeating: .nan, count: q)
    return
  }
  var matrix = columns, rows = p
  if 5 * p >= 8 * q && p > q {
    // R of A = Q·R (q × q): the bidiagonalisation then costs (8/3)q³, not 4pq².
    (matrix, rows) = (triangularFactor(columns: columns, rows: p, columns: q), q)
  }
  let work = columns + p * q
  let d = work, e = work + q, tridiagonal = work + 2 * q, off = tridiagonal + 2 * q
  bidiagonalize(matrix, rows: rows, columns: q, diagonal: d, superdiagonal: e)
  if bidiagonalSingularValues(count: q, diagonal: d, superdiagonal: e, into: values, transformsPerValue: dqdsTransformsPerValue) {
    return
  }
  // dqds did not converge (not seen in testing): the eigenvalues ±σ of the
  // Golub–Kahan tridiagonal (zero diagonal, off-diagonal d₀, e₀, d₁, …) by
  // root-free QL, at about six times the cost.
  for i in 0..<(2 * q) { tridiagonal[i] = 0 }
  for i in 0..<q {
    off[2 * i] = d[i]
    if i + 1 < q { off[2 * i + 1] = e[i] }
  }
  off[2 * q - 1] = 0
  tridiagonalEigenvalues(n: 2 * q, diagonal: tridiagonal, offDiagonal: off)
  sortDescending(tridiagonal, count: 2 * q)
  for i in 0..<q { values[i] = abs(tridiagonal[i]) }
}

/// Golub–Kahan bidiagonalisation of a column-major `rows × columns` matrix
/// (rows ≥ columns; destroyed): d the diagonal, e the superdiagonal of
/// B = Uᵀ·A·V. The left reflector of step k works down column k (contiguous)
/// and is applied column by column; the right one works along row k and is
/// applied to the trailing rows as w = A·u (one pass of axpys over columns),
/// then A −= 2·w·uᵀ (a second pass).
private func bidiagonalize(
  _ a: UnsafeMutablePointer<Double>, rows p: Int, columns q: Int,
  diagonal d: UnsafeMutablePointer<Double>, superdiagonal e: UnsafeMutablePointer<Double>
) {
  do {
    let u = ScratchArena.current.buffer(.bidiagonalReflector, count: q + p, of: Double.self), w = u + q
    for k in 0..<q {
      // Left: column k below the diagonal onto a multiple of e₁.
      let x = a + k * p + k, length = p - k
      let tail = length > 1 ? Double.dot(x + 1, x + 1, count: length - 1) : 0
      if tail == 0 {
        d[k] = x[0]
      } else {
        let norm = (x[0] * x[0] + tail).squareRoot()
        let beta = x[0] >= 0 ? -norm : norm
        let tau = (beta - x[0]) / beta
        let inverse = 1 / (x[0] - beta)
        for i in 1..<length { x[i] *= inverse }
        d[k] = beta
        // v = (1, x[1...]); c ← c − tau·(vᵀc)·v for the columns to the right.
        for column in (k + 1)..<q {
          let c = a + column * p + k
          let factor = -tau * (c[0] + Double.dot(x + 1, c + 1, count: length - 1))
          c[0] += factor
          Double.axpy(factor, x + 1, c + 1, count: length - 1)
        }
      }
      guard k + 1 < q else { continue }
      // Right: row k right of the superdiagonal onto a multiple of e₁.
      let width = q - k - 1
      for j in 0..<width { u[j] = a[(k + 1 + j) * p + k] }
      let rowTail = width > 1 ? Double.dot(u + 1, u + 1, count: width - 1) : 0
      if rowTail == 0 {
        e[k] = u[0]
        continue
      }
      let norm = (u[0] * u[0] + rowTail).squareRoot()
      let beta = u[0] >= 0 ? -norm : norm
      e[k] = beta
      u[0] -= beta
      let scale = 1 / Double.dot(u, u, count: width).squareRoot()
      for j in 0..<width { u[j] *= scale }
      // Rows k+1..<p of the trailing columns: w = A·u, then A −= 2·w·uᵀ.
      let height = p - k - 1
      for i in 0..<height { w[i] = 0 }
      for j in 0..<width { Double.axpy(u[j], a + (k + 1 + j) * p + k + 1, w, count: height) }
      for j in 0..<width { Double.axpy(-2 * u[j], w, a + (k + 1 + j) * p + k + 1, count: height) }
    }
  }
}
