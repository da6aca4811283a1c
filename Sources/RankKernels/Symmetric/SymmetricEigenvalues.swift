/// The eigenvalues of a symmetric `n × n` Float64 matrix, in descending order.
///
/// Householder reduction to tridiagonal form on the upper triangle (as
/// LAPACK's unblocked dsytd2), then the root-free implicit QL/QR iteration of
/// Pal, Walker and Kahan (as dsterf).
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
  let finite = withTridiagonalForm(n: n, a: a, lda: lda) { d, e in
    values.update(from: d, count: n)
    tridiagonalEigenvalues(n: n, diagonal: values, offDiagonal: e)
  }
  if !finite {
    values.update(repeating: .nan, count: n)
    return
  }
  if UnsafeBufferPointer(start: values, count: n).contains(where: { $0.isNaN }) { return }
  sortDescending(values, count: n)
}

/// The number of eigenvalues greater than `threshold` of a symmetric `n × n`
/// Float64 matrix (only its upper triangle is read).
///
/// The reduction to tridiagonal T of ``symmetricEigenvalues(n:a:lda:into:)``,
/// then one Sturm count: the negative pivots of T − threshold·I = L·D·Lᵀ are
/// the eigenvalues below the threshold (Sylvester's law of inertia), O(n)
/// after the reduction instead of the QL iteration's O(n²) with a square
/// root and divisions per rotation. The count is backward stable: it is
/// exact for a matrix within about n·ε·‖A‖₂ of A, so it can differ from
/// counting `symmetricEigenvalues` only for eigenvalues that close to the
/// threshold. Eigenvalues equal to the threshold are not counted. A matrix
/// with a non-finite entry gives 0. Single-threaded.
public func symmetricEigenvalueCount(
  n: Int, a: UnsafePointer<Double>, lda: Int, greaterThan threshold: Double
) -> Int {
  let kernel: StaticString = "symmetricEigenvalueCount"
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  if n == 0 || threshold.isNaN { return 0 }
  var below = 0
  let finite = withTridiagonalForm(n: n, a: a, lda: lda) { d, e in
    below = sturmCount(n: n, diagonal: d, offDiagonal: e, below: threshold)
  }
  return finite ? n - below : 0
}

/// Copies A's upper triangle to stack scratch, reduces it to tridiagonal
/// form and calls `body(d, e)` with its diagonal and off-diagonal (n entries
/// each, e[n−1] = 0; both scratch, free to modify). Returns false without
/// calling `body` if A has a non-finite entry.
private func withTridiagonalForm(
  n: Int, a: UnsafePointer<Double>, lda: Int,
  _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void
) -> Bool {
  // Per-thread scratch (n rows of `ldw` doubles, an odd number of cache
  // lines apart, and 6n more): this runs twice per token matrix in
  // mc-generic, where heap arrays per call showed up in profiles.
  do {
    let ldw = oddCacheLineStride(doubleColumns: n)
    let w = ScratchArena.current.buffer(.tridiagonalForm, count: n * ldw + 6 * n, of: Double.self)
    let d = w + n * ldw, e = d + n, vectors = e + n
    var finite = true
    for i in 0..<n {
      for j in i..<n {
        let value = a[i * lda + j]
        if !value.isFinite { finite = false }
        w[i * ldw + j] = value
      }
    }
    if !finite { return false }
    tridiagonalize(w, n: n, lda: ldw, diagonal: d, offDiagonal: e, scratch: vectors)
    body(d, e)
    return true
  }
}

/// The number of eigenvalues of the symmetric tridiagonal (d, e) below x:
/// the negative pivots of the L·D·Lᵀ recurrence q_i = d_i − x − e_{i−1}²/q_{i−1},
/// on T scaled by a power of two so that the squares cannot overflow or
/// underflow, with tiny pivots replaced by −pivmin (as LAPACK's dlaneg), so
/// an eigenvalue at x counts as below it.
private func sturmCount(n: Int, diagonal d: UnsafePointer<Double>, offDiagonal e: UnsafePointer<Double>, below x: Double) -> Int {
  var largest = abs(x)
  for i in 0..<n { largest = max(largest, abs(d[i]), abs(e[i])) }
  if largest == 0 { return n }  // T = 0 and x = 0: every eigenvalue is at x
  // 2^-exponent(largest) brings every entry to at most 1 in magnitude, exactly.
  let scale = Double(sign: .plus, exponent: -largest.exponent, significand: 1)
  let shift = x * scale
  var largestSquare = 0.0
  for i in 0..<(n - 1) { largestSquare = max(largestSquare, (e[i] * scale) * (e[i] * scale)) }
  let pivmin = Double.leastNormalMagnitude * max(1, largestSquare)
  var count = 0
  var q = d[0] * scale - shift
  if abs(q) < pivmin { q = -pivmin }
  if q < 0 { count += 1 }
  for i in 1..<n {
    let off = e[i - 1] * scale
    q = (d[i] * scale - shift) - off * off / q
    if abs(q) < pivmin { q = -pivmin }
    if q < 0 { count += 1 }
  }
  return count
}

/// Reduces the symmetric matrix `a` (its upper triangle, row-major, destroyed)
/// to tridiagonal T = Qᵀ·A·Q: diagonal d[0..<n], off-diagonal e[i] = T[i, i+1]
/// for i < n−1 (LAPACK's dsytd2 on the upper triangle of the row-major
/// matrix, i.e. the lower one of the column-major matrix). `scratch` holds 4n
/// doubles.
///
/// Step k takes a reflector v from row k, forms p = B·v for the trailing
/// block B, q = 2·(p − (vᵀp)·v), and updates B ← B − v·qᵀ − q·vᵀ: 4·(n−k)²
/// flops, (4/3)·n³ in all. Only the upper triangle is read and updated, every
/// access along a row (column k below the diagonal is row k right of it).
/// The update of step k and the product of step k+1 share one pass over the
/// rows: as soon as row k+1 is updated, it gives step k+1's reflector, and
/// each later row is updated and multiplied by that reflector while it is in
/// registers. So the trailing block is read and written once per step, not
/// read twice and written once; at n = 512 (2 MiB, beyond L2) that pass is
/// the cost.
private func tridiagonalize(
  _ a: UnsafeMutablePointer<Double>, n: Int, lda: Int, diagonal d: UnsafeMutablePointer<Double>, offDiagonal e: UnsafeMutablePointer<Double>,
  scratch: UnsafeMutablePointer<Double>
) {
  var v = scratch, q = scratch + n, nextV = scratch + 2 * n, nextQ = scratch + 3 * n
  if n > 2 {
    // Step 0's reflector and its product with the whole trailing block.
    if reflector(a, n: n, lda: lda, row: 0, diagonal: d, offDiagonal: e, v: v) {
      for i in 1..<n { q[i] = 0 }
      for i in 1..<n {
        let row = a + i * lda, vi = v[i]
        let partial = dotAndAxpy(row + i + 1, v + i + 1, q + i + 1, scale: vi, count: n - i - 1)
        q[i] += row[i] * vi + partial
      }
      finishReflectorProduct(n: n, step: 0, v: v, p: q)
    } else {
      for i in 1..<n { q[i] = 0 }
    }
  }
  for k in 0..<max(0, n - 2) {
    // Row k+1 takes step k's update first: it gives step k+1's reflector.
    rankTwoUpdate(a + (k + 1) * lda + k + 1, v + k + 1, q + k + 1, v[k + 1], q[k + 1], count: n - k - 1)
    if k + 1 < n - 2 {
      let active = reflector(a, n: n, lda: lda, row: k + 1, diagonal: d, offDiagonal: e, v: nextV)
      for i in (k + 2)..<n { nextQ[i] = 0 }
      for i in (k + 2)..<n { updateRowAndMultiply(a + i * lda, i: i, n: n, v: v, q: q, nextV: nextV, nextP: nextQ) }
      if active {
        finishReflectorProduct(n: n, step: k + 1, v: nextV, p: nextQ)
      } else {
        for i in (k + 2)..<n { nextQ[i] = 0 }
      }
      swap(&v, &nextV)
      swap(&q, &nextQ)
    } else {
      for i in (k + 2)..<n { rankTwoUpdate(a + i * lda + i, v + i, q + i, v[i], q[i], count: n - i) }
    }
  }
  if n >= 2 {
    d[n - 2] = a[(n - 2) * lda + (n - 2)]
    e[n - 2] = a[(n - 2) * lda + (n - 1)]
  }
  d[n - 1] = a[(n - 1) * lda + (n - 1)]
  e[n - 1] = 0
}

/// The Householder vector v (unit, in v[row+1..<n]) that maps A[row, row+1..<n]
/// onto a multiple of e₁; sets d[row] and e[row]. Returns false, with v = 0,
/// when that part of the row is already zero past its first entry.
@inline(__always)
private func reflector(
  _ a: UnsafeMutablePointer<Double>, n: Int, lda: Int, row k: Int, diagonal d: UnsafeMutablePointer<Double>,
  offDiagonal e: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>
) -> Bool {
  let rowK = a + k * lda
  let norm = dot(rowK + k + 1, rowK + k + 1, count: n - k - 1).squareRoot()
  let x0 = rowK[k + 1]
  let alpha = x0 >= 0 ? -norm : norm
  e[k] = alpha
  d[k] = rowK[k]
  for i in (k + 1)..<n { v[i] = rowK[i] }
  v[k + 1] -= alpha
  let vNorm = dot(v + k + 1, v + k + 1, count: n - k - 1)
  if vNorm == 0 {
    e[k] = x0
    for i in (k + 1)..<n { v[i] = 0 }
    return false
  }
  let inverse = 1 / vNorm.squareRoot()
  for i in (k + 1)..<n { v[i] *= inverse }
  return true
}

/// p ← 2·(p − (vᵀp)·v) over indices step+1..<n: the q of the rank-2 update.
@inline(__always)
private func finishReflectorProduct(n: Int, step k: Int, v: UnsafePointer<Double>, p: UnsafeMutablePointer<Double>) {
  let vp = dot(v + k + 1, p + k + 1, count: n - k - 1)
  for i in (k + 1)..<n { p[i] = 2 * (p[i] - vp * v[i]) }
}

/// Row i (from its diagonal on) of the trailing block: applies one step's
/// update, row[j] −= v_i·q_j + q_i·v_j, and adds the updated row's share of
/// the next step's product, nextP = B·nextV, from the upper triangle: its dot
/// product with nextV to nextP[i] and row[j]·nextV[i] to nextP[j] (j > i).
@inline(__always)
private func updateRowAndMultiply(
  _ row: UnsafeMutablePointer<Double>, i: Int, n: Int, v: UnsafePointer<Double>, q: UnsafePointer<Double>,
  nextV: UnsafePointer<Double>, nextP: UnsafeMutablePointer<Double>
) {
  let vi = v[i], qi = q[i], wi = nextV[i]
  let diagonal = row[i].addingProduct(-vi, q[i]).addingProduct(-qi, v[i])
  row[i] = diagonal
  let minusV = SIMD4<Double>(repeating: -vi), minusQ = SIMD4<Double>(repeating: -qi), w = SIMD4<Double>(repeating: wi)
  var sum = SIMD4<Double>()
  var j = i + 1
  while j + 4 <= n {
    let updated = load4(row + j).addingProduct(minusV, load4(q + j)).addingProduct(minusQ, load4(v + j))
    store4(updated, row + j)
    sum.addProduct(updated, load4(nextV + j))
    store4(load4(nextP + j).addingProduct(updated, w), nextP + j)
    j += 4
  }
  var total = sum.sum()
  while j < n {
    let updated = row[j].addingProduct(-vi, q[j]).addingProduct(-qi, v[j])
    row[j] = updated
    total = total.addingProduct(updated, nextV[j])
    nextP[j] = nextP[j].addingProduct(updated, wi)
    j += 1
  }
  nextP[i] += diagonal * wi + total
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
    row[i] = row[i].addingProduct(-vi, q[i]).addingProduct(-qi, v[i])
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

/// Eigenvalues of the symmetric tridiagonal (d, e), in place in d
/// (unordered); e is destroyed.
///
/// The root-free implicit QL/QR iteration of Pal, Walker and Kahan (LAPACK's
/// dsterf): it works on the squares e_i², so a rotation costs two divisions
/// and no square root. Each unreduced block is scaled into the range where
/// the squares neither overflow nor underflow, and iterated by QL when its
/// last diagonal entry is the larger in magnitude, else by QR, so that graded
/// matrices deflate at their small end. Splits when
/// |e_i| ≤ ε·√|d_i|·√|d_{i+1}|, at most 30·n iterations in all.
internal func tridiagonalEigenvalues(n: Int, diagonal d: UnsafeMutablePointer<Double>, offDiagonal e: UnsafeMutablePointer<Double>) {
  let eps = Double.ulpOfOne / 2, eps2 = eps * eps
  let safeMinimum = Double.leastNormalMagnitude
  let scaledMaximum = (1 / safeMinimum).squareRoot() / 3
  let scaledMinimum = safeMinimum.squareRoot() / eps2
  let maximumIterations = 30 * n
  var iterations = 0
  var blockStart = 0
  while blockStart < n {
    if blockStart > 0 { e[blockStart - 1] = 0 }
    var blockEnd = blockStart
    while blockEnd < n - 1 {
      if abs(e[blockEnd]) <= abs(d[blockEnd]).squareRoot() * abs(d[blockEnd + 1]).squareRoot() * eps {
        e[blockEnd] = 0
        break
      }
      blockEnd += 1
    }
    let first = blockStart, last = blockEnd
    blockStart = blockEnd + 1
    if last == first { continue }
    var norm = 0.0
    for i in first...last { norm = max(norm, abs(d[i])) }
    for i in first..<last { norm = max(norm, abs(e[i])) }
    if norm == 0 { continue }
    let factor = norm > scaledMaximum ? scaledMaximum / norm : norm < scaledMinimum ? scaledMinimum / norm : 1
    if factor != 1 {
      for i in first...last { d[i] *= factor }
      for i in first..<last { e[i] *= factor }
    }
    for i in first..<last { e[i] *= e[i] }
    if abs(d[last]) >= abs(d[first]) {
      rootFreeQL(d: d, squares: e, from: first, to: last, iterations: &iterations, limit: maximumIterations)
    } else {
      rootFreeQR(d: d, squares: e, from: last, to: first, iterations: &iterations, limit: maximumIterations)
    }
    if factor != 1 { for i in first...last { d[i] /= factor } }
    if iterations >= maximumIterations { return }
  }
}

/// QL sweeps on rows l...end (e holds squares), finding eigenvalues at l.
@inline(__always)
private func rootFreeQL(
  d: UnsafeMutablePointer<Double>, squares e: UnsafeMutablePointer<Double>, from start: Int, to end: Int,
  iterations: inout Int, limit: Int
) {
  let eps2 = (Double.ulpOfOne / 2) * (Double.ulpOfOne / 2)
  var l = start
  while l <= end {
    var m = l
    while m < end && abs(e[m]) > eps2 * abs(d[m] * d[m + 1]) { m += 1 }
    if m < end { e[m] = 0 }
    if m == l {
      l += 1
      continue
    }
    if m == l + 1 {
      (d[l], d[l + 1]) = eigenvaluesOf2x2(d[l], e[l].squareRoot(), d[l + 1])
      e[l] = 0
      l += 2
      continue
    }
    if iterations == limit { return }
    iterations += 1
    let sigma = shift(towards: d[l], next: d[l + 1], offDiagonalSquare: e[l])
    var c = 1.0, s = 0.0
    var gamma = d[m] - sigma, p = gamma * gamma
    for i in stride(from: m - 1, through: l, by: -1) {
      let bb = e[i], r = p + bb
      if i != m - 1 { e[i + 1] = s * r }
      let oldC = c
      c = p / r
      s = bb / r
      let oldGamma = gamma, alpha = d[i]
      gamma = c * (alpha - sigma) - s * oldGamma
      d[i + 1] = oldGamma + (alpha - gamma)
      p = c != 0 ? gamma * gamma / c : oldC * bb
    }
    e[l] = s * p
    d[l] = sigma + gamma
  }
}

/// The mirror image: QR sweeps on rows end...l (l > end), eigenvalues at l.
@inline(__always)
private func rootFreeQR(
  d: UnsafeMutablePointer<Double>, squares e: UnsafeMutablePointer<Double>, from start: Int, to end: Int,
  iterations: inout Int, limit: Int
) {
  let eps2 = (Double.ulpOfOne / 2) * (Double.ulpOfOne / 2)
  var l = start
  while l >= end {
    var m = l
    while m > end && abs(e[m - 1]) > eps2 * abs(d[m] * d[m - 1]) { m -= 1 }
    if m > end { e[m - 1] = 0 }
    if m == l {
      l -= 1
      continue
    }
    if m == l - 1 {
      (d[l], d[l - 1]) = eigenvaluesOf2x2(d[l], e[l - 1].squareRoot(), d[l - 1])
      e[l - 1] = 0
      l -= 2
      continue
    }
    if iterations == limit { return }
    iterations += 1
    let sigma = shift(towards: d[l], next: d[l - 1], offDiagonalSquare: e[l - 1])
    var c = 1.0, s = 0.0
    var gamma = d[m] - sigma, p = gamma * gamma
    for i in m..<l {
      let bb = e[i], r = p + bb
      if i != m { e[i - 1] = s * r }
      let oldC = c
      c = p / r
      s = bb / r
      let oldGamma = gamma, alpha = d[i + 1]
      gamma = c * (alpha - sigma) - s * oldGamma
      d[i] = oldGamma + (alpha - gamma)
      p = c != 0 ? gamma * gamma / c : oldC * bb
    }
    e[l - 1] = s * p
    d[l] = sigma + gamma
  }
}

/// Wilkinson's shift: the eigenvalue of [[d0, e], [e, d1]] nearer d0, from e².
@inline(__always)
private func shift(towards d0: Double, next d1: Double, offDiagonalSquare: Double) -> Double {
  let root = offDiagonalSquare.squareRoot()
  let g = (d1 - d0) / (2 * root)
  let r = (g * g + 1).squareRoot()
  return d0 - root / (g + (g >= 0 ? r : -r))
}

/// The eigenvalues (larger magnitude first) of the symmetric [[a, b], [b, c]],
/// as LAPACK's dlae2: the smaller from the determinant, not by cancellation.
@inline(__always)
private func eigenvaluesOf2x2(_ a: Double, _ b: Double, _ c: Double) -> (Double, Double) {
  let sum = a + c, difference = a - c, absDifference = abs(difference), twiceB = abs(2 * b)
  let (larger, smaller) = abs(a) > abs(c) ? (a, c) : (c, a)
  let root: Double
  if absDifference > twiceB {
    root = absDifference * (1 + (twiceB / absDifference) * (twiceB / absDifference)).squareRoot()
  } else if absDifference < twiceB {
    root = twiceB * (1 + (absDifference / twiceB) * (absDifference / twiceB)).squareRoot()
  } else {
    root = twiceB * 2.0.squareRoot()
  }
  if sum == 0 { return (0.5 * root, -0.5 * root) }
  let first = sum < 0 ? 0.5 * (sum - root) : 0.5 * (sum + root)
  return (first, (larger / first) * smaller - (b / first) * b)
}
