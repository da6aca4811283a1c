/// The eigenvalues of a symmetric `n × n` Float64 matrix, in descending order.
///
/// Householder reduction to tridiagonal form, then the implicit QL iteration
/// with Wilkinson shifts (the textbook pair behind LAPACK's dsytrd + dsterf).
/// Backward stable: every computed eigenvalue is within about n·ε·‖A‖₂ of an
/// exact one. Cost ≈ (4/3)n³ + O(n²) flops, a few microseconds at n = 16,
/// which is why the rank metrics use it on Gram matrices. Only the upper
/// triangle of `a` is read; `a` is not modified. Single-threaded; O(n²)
/// temporary scratch (on the stack when small).
///
/// A matrix with a NaN or infinite entry yields NaN eigenvalues.
public func symmetricEigenvalues(
  n: Int, a: UnsafePointer<Double>, lda: Int, into values: UnsafeMutablePointer<Double>
) {
  let kernel: StaticString = "symmetricEigenvalues"
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  if n == 0 { return }
  // Stack scratch (n² + 3n doubles): this runs twice per token matrix in
  // mc-generic, where heap arrays per call showed up in profiles.
  withUnsafeTemporaryAllocation(of: Double.self, capacity: n * n + 3 * n) { scratch in
    let w = scratch.baseAddress!, e = w + n * n, v = e + n, p = v + n
    var finite = true
    for i in 0..<n {
      for j in i..<n {
        let value = a[i * lda + j]
        if !value.isFinite { finite = false }
        w[i * n + j] = value
        w[j * n + i] = value
      }
    }
    if !finite {
      values.update(repeating: .nan, count: n)
      return
    }
    tridiagonalize(w, n: n, diagonal: values, offDiagonal: e, v: v, p: p)
    tridiagonalQL(n: n, diagonal: values, offDiagonal: e)
  }
  if values[0].isNaN { return }
  var sorted = UnsafeMutableBufferPointer(start: values, count: n)
  sorted.sort(by: >)
}

/// Reduces the symmetric matrix `a` (full storage, destroyed) to tridiagonal
/// T = Qᵀ·A·Q: diagonal d[0..<n], off-diagonal e[i] = T[i, i+1] for i < n−1.
private func tridiagonalize(
  _ a: UnsafeMutablePointer<Double>, n: Int, diagonal d: UnsafeMutablePointer<Double>, offDiagonal e: UnsafeMutablePointer<Double>,
  v: UnsafeMutablePointer<Double>, p: UnsafeMutablePointer<Double>
) {
  for k in 0..<max(0, n - 2) {
    // Reflector H = I − 2·v·vᵀ mapping A[k+1..<n, k] onto a multiple of e₁.
    var norm = 0.0
    for i in (k + 1)..<n { norm += a[i * n + k] * a[i * n + k] }
    norm = norm.squareRoot()
    let x0 = a[(k + 1) * n + k]
    let alpha = x0 >= 0 ? -norm : norm
    e[k] = alpha
    d[k] = a[k * n + k]
    var vNorm = 0.0
    for i in (k + 1)..<n {
      v[i] = a[i * n + k] - (i == k + 1 ? alpha : 0)
      vNorm += v[i] * v[i]
    }
    if vNorm == 0 { e[k] = x0; continue }  // column already reduced
    let inverse = 1 / vNorm.squareRoot()
    for i in (k + 1)..<n { v[i] *= inverse }
    // B ← H·B·H on the trailing block: p = B·v, q = p − (vᵀp)·v,
    // B ← B − 2·v·qᵀ − 2·q·vᵀ.
    // p = B·v as a sum of rows scaled by v[j] (B is symmetric, so its rows
    // are its columns): contiguous axpys vectorise, row-by-row dot products
    // (reductions) do not.
    for i in (k + 1)..<n { p[i] = 0 }
    for j in (k + 1)..<n {
      let vj = v[j], row = a + j * n
      for i in (k + 1)..<n { p[i] += row[i] * vj }
    }
    var vp = 0.0
    for i in (k + 1)..<n { vp += v[i] * p[i] }
    for i in (k + 1)..<n { p[i] -= vp * v[i] }
    for i in (k + 1)..<n {
      for j in (k + 1)..<n { a[i * n + j] -= 2 * (v[i] * p[j] + p[i] * v[j]) }
    }
  }
  if n >= 2 {
    d[n - 2] = a[(n - 2) * n + (n - 2)]
    e[n - 2] = a[(n - 1) * n + (n - 2)]
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)]
  e[n - 1] = 0
}

/// Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL with
/// Wilkinson shifts, in place in d (unordered); e is destroyed.
private func tridiagonalQL(n: Int, diagonal d: UnsafeMutablePointer<Double>, offDiagonal e: UnsafeMutablePointer<Double>) {
  for l in 0..<n {
    var iterations = 0
    while true {
      // Find the first negligible off-diagonal at or after l: the block
      // l...m is unreduced.
      var m = l
      while m < n - 1 {
        let scale = abs(d[m]) + abs(d[m + 1])
        if abs(e[m]) <= Double.ulpOfOne * scale { break }
        m += 1
      }
      if m == l { break }
      iterations += 1
      if iterations > 60 { break }  // not reached in practice; keeps the loop finite on NaN
      // Shift: the eigenvalue of the leading 2×2 closer to d[l].
      var g = (d[l + 1] - d[l]) / (2 * e[l])
      var r = (g * g + 1).squareRoot()
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
      var s = 1.0, c = 1.0, p = 0.0
      var i = m - 1
      var deflated = false
      while i >= l {
        let f = s * e[i], b = c * e[i]
        r = (f * f + g * g).squareRoot()
        e[i + 1] = r
        if r == 0 {
          // Underflow: the rotation split the matrix; restart from l.
          d[i + 1] -= p
          e[m] = 0
          deflated = true
          break
        }
        s = f / r
        c = g / r
        g = d[i + 1] - p
        r = (d[i] - g) * s + 2 * c * b
        p = s * r
        d[i + 1] = g + p
        g = c * r - b
        i -= 1
      }
      if deflated { continue }
      d[l] -= p
      e[l] = g
      e[m] = 0
    }
  }
}
