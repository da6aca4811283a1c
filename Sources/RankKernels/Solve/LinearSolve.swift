/// Solves A·X = B in Float64 by Gaussian elimination with partial pivoting
/// (the algorithm of LAPACK's dgesv, unblocked).
///
/// - Parameters:
///   - n: order of A.
///   - m: columns of B and X (the right-hand sides).
///   - a: `n × n`, row-major with leading dimension `lda`; not modified.
///   - lda: leading dimension of A, ≥ n.
///   - b: `n × m`, row-major with leading dimension `ldb`; overwritten by X.
///   - ldb: leading dimension of B, ≥ m.
/// - Returns: false if a pivot is exactly zero (A singular to working
///   precision); b then holds partial results.
///
/// Backward stable in practice: the computed X solves (A + ΔA)·X = B with
/// ‖ΔA‖ ≲ n·ε·ρ·‖A‖ (ρ the growth factor, small for the matrices met here),
/// so the forward error is about κ(A)·n·ε. Costs (2/3)n³ + 2n²m flops;
/// single-threaded, with an n × n scratch copy of A. Rows are combined
/// whole, so the inner loops are contiguous and vectorise.
public func solveLinearSystem(
  n: Int, rightHandSides m: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafeMutablePointer<Double>, ldb: Int
) -> Bool {
  let kernel: StaticString = "solveLinearSystem"
  requireNonNegative(kernel, "n", n)
  requireNonNegative(kernel, "rightHandSides", m)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  requireLeadingDimension(kernel, "ldb", ldb, columns: m, of: "B")
  if n == 0 { return true }
  let u = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
  defer { u.deallocate() }
  for i in 0..<n { (u + i * n).update(from: a + i * lda, count: n) }
  for k in 0..<n {
    var pivot = k, largest = abs(u[k * n + k])
    for i in (k + 1)..<n where abs(u[i * n + k]) > largest {
      pivot = i
      largest = abs(u[i * n + k])
    }
    if largest == 0 || !largest.isFinite { return false }
    if pivot != k {
      swapRows(u + k * n, u + pivot * n, count: n)
      swapRows(b + k * ldb, b + pivot * ldb, count: m)
    }
    let inversePivot = 1 / u[k * n + k]
    for i in (k + 1)..<n {
      let factor = u[i * n + k] * inversePivot
      if factor == 0 { continue }
      u[i * n + k] = 0
      subtractMultiple(factor, of: u + k * n + k + 1, from: u + i * n + k + 1, count: n - k - 1)
      subtractMultiple(factor, of: b + k * ldb, from: b + i * ldb, count: m)
    }
  }
  for i in stride(from: n - 1, through: 0, by: -1) {
    for j in (i + 1)..<n { subtractMultiple(u[i * n + j], of: b + j * ldb, from: b + i * ldb, count: m) }
    let inverseDiagonal = 1 / u[i * n + i]
    for j in 0..<m { b[i * ldb + j] *= inverseDiagonal }
  }
  return true
}

@inline(__always)
private func swapRows(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
  for j in 0..<count { (x[j], y[j]) = (y[j], x[j]) }
}

/// y −= factor·x.
@inline(__always)
private func subtractMultiple(_ factor: Double, of x: UnsafePointer<Double>, from y: UnsafeMutablePointer<Double>, count: Int) {
  for j in 0..<count { y[j] -= factor * x[j] }
}
