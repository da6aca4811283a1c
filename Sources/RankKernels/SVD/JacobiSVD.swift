/// The singular values of an `m × n` Float32 matrix (row-major, leading
/// dimension `lda`), computed in Float64, in descending order (min(m, n) of
/// them), with **high relative accuracy**.
///
/// The matrix (or its transpose, whichever is tall) is widened to Float64,
/// reduced to a square triangular factor by Householder QR, and the factor's
/// singular values are found by one-sided Jacobi (Hestenes): tiny singular
/// values come out accurate to Float64 level relative to themselves, not to
/// σ₁, for column-scaled matrices — what rank decisions near a tolerance
/// need (rank method `exact`). Cost O(mn² + sweeps·n³), 2–7× slower than
/// ``singularValues(m:n:a:lda:into:backend:)`` (bidiagonalisation and dqds,
/// accurate to ε·σ₁); meant for n up to a few hundred. Single-threaded,
/// Swift only (LAPACK's equivalent, dgejsv, is not wrapped).
///
/// A matrix with any NaN or ±inf yields NaN singular values.
public func singularValuesByJacobi(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into values: UnsafeMutablePointer<Double>
) {
  let kernel: StaticString = "singularValuesByJacobi"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  jacobiSingularValues(m: m, n: n, a: a, lda: lda, into: values)
}

/// Convenience: ``singularValuesByJacobi(m:n:a:lda:into:)`` of a row-major `m × n` array.
public func singularValuesByJacobi(of matrix: [Float], rows m: Int, columns n: Int) -> [Double] {
  singularValuesOfArray(matrix, rows: m, columns: n, kernel: "singularValuesByJacobi") {
    singularValuesByJacobi(m: m, n: n, a: $0, lda: max(1, n), into: $1)
  }
}

/// Copies A (m × n, row-major Float32) to Float64 in its tall orientation,
/// column-major: (row, col) of A, or of Aᵀ when m < n, at col·max(m, n) + row.
/// Returns false if A has a NaN or ±inf.
internal func widenToTallColumns(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into columns: UnsafeMutablePointer<Double>
) -> Bool {
  let transposed = m < n, p = max(m, n)
  var finite = true
  for i in 0..<m {
    for j in 0..<n {
      let x = a[i * lda + j]
      if !x.isFinite { finite = false }
      if transposed { columns[i * p + j] = Double(x) } else { columns[j * p + i] = Double(x) }
    }
  }
  return finite
}

/// R of the Householder QR of the column-major `rows × columns` matrix
/// (destroyed; its tau in the `columns` doubles after it), column-major
/// `columns × columns` in the per-thread factorisation scratch: A's singular
/// values are R's, and the reductions after it then work on q², not p·q.
internal func triangularFactor(columns a: UnsafeMutablePointer<Double>, rows p: Int, columns q: Int) -> UnsafeMutablePointer<Double> {
  householderFactor(columns: a, m: p, n: q, tau: a + p * q)
  let r = ScratchArena.current.buffer(.factorizationVectors, count: q * q, of: Double.self)
  for j in 0..<q { for i in 0..<q { r[j * q + i] = i <= j ? a[j * p + i] : 0 } }
  return r
}

internal func jacobiSingularValues(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into values: UnsafeMutablePointer<Double>
) {
  let count = min(m, n)
  if count == 0 { return }
  // Work with the tall orientation: p rows ≥ q columns, stored column by column.
  let p = max(m, n), q = count
  // Per-thread scratch: no allocation per call once warm (mc-generic calls
  // this twice per layer per variant per sample).
  let arena = ScratchArena.current
  let columns = arena.buffer(.factorization, count: p * q + q, of: Double.self)
  if !widenToTallColumns(m: m, n: n, a: a, lda: lda, into: columns) {
    values.update(repeating: .nan, count: count)
    return
  }
  let triangle = p > q ? triangularFactor(columns: columns, rows: p, columns: q) : columns
  oneSidedJacobi(columns: triangle, rows: q, count: q, rightVectors: nil)
  for j in 0..<q { values[j] = Double.dot(triangle + j * q, triangle + j * q, count: q).squareRoot() }
  sortDescending(values, count: q)
}

/// One-sided Jacobi (Hestenes): rotates pairs of the `count` columns (each
/// `rows` long, stored contiguously) until they are mutually orthogonal to
/// working precision. Afterwards column j = σ_j·u_j. If `rightVectors` is
/// non-nil it must hold a `count × count` matrix stored by columns (usually the
/// identity); the same rotations are applied to it, giving V.
///
/// Pairs are visited in round-robin (tournament) order: each round holds
/// count/2 disjoint pairs, so their rotations are independent and the CPU
/// overlaps them. The cyclic row order chains every rotation on the previous
/// one through a shared column, and on small matrices the sqrt/divide latency
/// of that chain, not arithmetic, set the time. Round-robin ordering converges
/// like the cyclic one (Luk & Park 1989).
internal func oneSidedJacobi<T: FactorizationScalar>(
  columns: UnsafeMutablePointer<T>, rows: Int, count: Int, rightVectors: UnsafeMutablePointer<T>?,
  maximumSweeps: Int = 60
) {
  if count < 2 { return }
  let tolerance = T.ulpOfOne * T(rows).squareRoot()
  // Scale by a power of two (exact) so the largest entry is near 1, then treat
  // columns whose squared norm is below `negligible` (≈ 2e-292 in Float64,
  // i.e. columns under ~1e-146 of the largest entry) as zero. Rotations
  // between such a column and another cannot reduce their inner product (the
  // updates fall below the representable range and run on subnormals); on
  // collapsed token matrices they kept Jacobi rotating for all 60 sweeps.
  var largest: T = 0
  for index in 0..<(rows * count) { largest = max(largest, abs(columns[index])) }
  if largest == 0 || !largest.isFinite { return }
  let scale = T(sign: .plus, exponent: -largest.exponent, significand: 1)
  for index in 0..<(rows * count) { columns[index] *= scale }
  defer { for index in 0..<(rows * count) { columns[index] /= scale } }
  let negligible = T.leastNormalMagnitude / T.ulpOfOne
  // Squared column norms, updated through each rotation and recomputed exactly
  // at the start of every sweep (so drift cannot accumulate): each pair then
  // costs one inner product instead of three.
  let norms = UnsafeMutablePointer<T>.allocate(capacity: count)
  defer { norms.deallocate() }
  // Tournament seating: an even number of seats, the last one empty when
  // count is odd; seat 0 stays, the others rotate by one each round.
  let seats = count + count % 2
  var seating = Array(0..<seats)
  for _ in 0..<maximumSweeps {
    for i in 0..<count { norms[i] = T.dot(columns + i * rows, columns + i * rows, count: rows) }
    var rotated = false
    for _ in 0..<(seats - 1) {
      for pair in 0..<(seats / 2) {
        let first = seating[pair], second = seating[seats - 1 - pair]
        if first >= count || second >= count { continue }
        let i = min(first, second), j = max(first, second)
        let x = columns + i * rows, y = columns + j * rows
        let alpha = norms[i], beta = norms[j]
        let gamma = T.dot(x, y, count: rows)
        if gamma == 0 || alpha < negligible || beta < negligible
          || abs(gamma) <= tolerance * alpha.squareRoot() * beta.squareRoot()
        {
          continue
        }
        rotated = true
        // Rotation that zeroes the (i, j) entry of the 2×2 Gram matrix.
        let zeta = (beta - alpha) / (2 * gamma)
        let t = (zeta >= 0 ? 1 : -1) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
        let c = 1 / (1 + t * t).squareRoot()
        let s = c * t
        T.rotate(x, y, count: rows, c: c, s: s)
        if let v = rightVectors { T.rotate(v + i * count, v + j * count, count: count, c: c, s: s) }
        // With the off-diagonal zeroed: α' = α − t·γ, β' = β + t·γ.
        norms[i] = max(0, alpha - t * gamma)
        norms[j] = beta + t * gamma
      }
      // Rotate every seat but the first one place.
      let last = seating[seats - 1]
      for seat in stride(from: seats - 1, to: 1, by: -1) { seating[seat] = seating[seat - 1] }
      seating[1] = last
    }
    if !rotated { break }
  }
}
