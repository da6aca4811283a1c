/// The eigenvalues of a symmetric `n × n` Float64 matrix, in descending order.
///
/// Householder reduction to tridiagonal form on the upper triangle (as
/// LAPACK's unblocked dsytd2), then the implicit QL iteration with Wilkinson
/// shifts (as dsterf's QL branch).
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

/// Reduces the symmetric matrix `a` (its upper triangle, row-major, destroyed)
/// to tridiagonal T = Qᵀ·A·Q: diagonal d[0..<n], off-diagonal e[i] = T[i, i+1]
/// for i < n−1 (LAPACK's dsytd2 on the upper triangle of the row-major
/// matrix, i.e. the lower one of the column-major matrix).
///
/// Only the upper triangle is read and updated, so each step costs
/// 4·(n−k)² flops (the symmetric product p = B·v and the rank-2 update,
/// each over half of the trailing block), (4/3)·n³ in all, and every access
/// runs along a row: column k below the diagonal is row k right of it.
private func tridiagonalize(
  _ a: UnsafeMutablePointer<Double>, n: Int, diagonal d: UnsafeMutablePointer<Double>, offDiagonal e: UnsafeMutablePointer<Double>,
  v: UnsafeMutablePointer<Double>, p: UnsafeMutablePointer<Double>
) {
  for k in 0..<max(0, n - 2) {
    let rowK = a + k * n
    // Reflector H = I − 2·v·vᵀ mapping A[k, k+1..<n] (= A[k+1..<n, k]) onto a multiple of e₁.
    let norm = dot(rowK + k + 1, rowK + k + 1, count: n - k - 1).squareRoot()
    let x0 = rowK[k + 1]
    let alpha = x0 >= 0 ? -norm : norm
    e[k] = alpha
    d[k] = rowK[k]
    for i in (k + 1)..<n { v[i] = rowK[i] }
    v[k + 1] -= alpha
    let vNorm = dot(v + k + 1, v + k + 1, count: n - k - 1)
    if vNorm == 0 { e[k] = x0; continue }  // column already reduced
    let inverse = 1 / vNorm.squareRoot()
    for i in (k + 1)..<n { v[i] *= inverse }
    // p = B·v for the trailing block B from its upper triangle: row i gives
    // p[i] its dot product with v and adds B[i, j]·v[i] to p[j] (j > i).
    for i in (k + 1)..<n { p[i] = 0 }
    for i in (k + 1)..<n {
      let row = a + i * n, vi = v[i]
      let tail = i + 1
      let partial = dotAndAxpy(row + tail, v + tail, p + tail, scale: vi, count: n - tail)
      p[i] += row[i] * vi + partial
    }
    // q = p − (vᵀp)·v, then B ← B − 2·v·qᵀ − 2·q·vᵀ on the upper triangle.
    let vp = dot(v + k + 1, p + k + 1, count: n - k - 1)
    for i in (k + 1)..<n { p[i] = 2 * (p[i] - vp * v[i]) }
    for i in (k + 1)..<n {
      rankTwoUpdate(a + i * n + i, v + i, p + i, v[i], p[i], count: n - i)
    }
  }
  if n >= 2 {
    d[n - 2] = a[(n - 2) * n + (n - 2)]
    e[n - 2] = a[(n - 2) * n + (n - 1)]
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)]
  e[n - 1] = 0
}

/// Σ x[i]·y[i] in Float64, four lanes at a time.
@inline(__always)
private func dot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count: Int) -> Double {
  var sum = SIMD4<Double>(), i = 0
  while i + 4 <= count {
    sum.addProduct(load4(x + i), load4(y + i))
    i += 4
  }
  var total = sum.sum()
  while i < count { total += x[i] * y[i]; i += 1 }
  return total
}

/// Returns Σ row[j]·v[j] and adds scale·row[j] to p[j], in one pass over the row.
@inline(__always)
private func dotAndAxpy(
  _ row: UnsafePointer<Double>, _ v: UnsafePointer<Double>, _ p: UnsafeMutablePointer<Double>, scale: Double, count: Int
) -> Double {
  var sum = SIMD4<Double>(), i = 0
  let s = SIMD4<Double>(repeating: scale)
  while i + 4 <= count {
    let r = load4(row + i)
    sum.addProduct(r, load4(v + i))
    store4(load4(p + i).addingProduct(r, s), p + i)
    i += 4
  }
  var total = sum.sum()
  while i < count {
    total += row[i] * v[i]
    p[i] += row[i] * scale
    i += 1
  }
  return total
}

/// row[j] −= vi·q[j] + qi·v[j] for j < count.
@inline(__always)
private func rankTwoUpdate(
  _ row: UnsafeMutablePointer<Double>, _ v: UnsafePointer<Double>, _ q: UnsafePointer<Double>, _ vi: Double, _ qi: Double, count: Int
) {
  let a = SIMD4<Double>(repeating: -vi), b = SIMD4<Double>(repeating: -qi)
  var i = 0
  while i + 4 <= count {
    store4(load4(row + i).addingProduct(a, load4(q + i)).addingProduct(b, load4(v + i)), row + i)
    i += 4
  }
  while i < count {
    row[i] -= vi * q[i] + qi * v[i]
    i += 1
  }
}

@inline(__always)
private func load4(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
}

@inline(__always)
private func store4(_ value: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
  UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD4<Double>.self)
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
