/// A factor F (`n × n`, Float64, row-major, leading dimension `ldf`) with
/// F·Fᵀ = A for a symmetric positive semidefinite A, by Cholesky with
/// diagonal pivoting (LAPACK's dpstrf algorithm, unblocked). Returns the
/// numerical rank r: elimination stops when every remaining diagonal entry is
/// at most `n·ε·max(diag A)`, and the columns of F from r on are zero.
///
/// F is the pivoted lower-triangular factor with its rows put back in the
/// original order (F = Pᵀ·L), so F·Fᵀ = A up to the backward error of the
/// pivoted Cholesky, about n·ε·max(diag A) per entry. The sketch engine uses it
/// on Gram matrices X·Xᵀ: any F with F·Fᵀ = X·Xᵀ turns a Gaussian G into a
/// sample of X·W, and pivoting keeps it stable when X is (numerically)
/// rank-deficient, which collapsed token matrices are.
///
/// Only the upper triangle of `a` is read; `a` is not modified. If it holds
/// a non-finite entry, F is all NaN and the returned rank 0.
/// Single-threaded; O(n²) temporary scratch (on the stack when small).
@discardableResult
public func pivotedCholesky(
  n: Int, a: UnsafePointer<Double>, lda: Int, factor: UnsafeMutablePointer<Double>, ldf: Int
) -> Int {
  let kernel: StaticString = "pivotedCholesky"
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  requireLeadingDimension(kernel, "ldf", ldf, columns: n, of: "F")
  for i in 0..<n { (factor + i * ldf).update(repeating: 0, count: n) }
  if n == 0 { return 0 }
  // work: the permuted matrix, full storage; its lower triangle becomes L.
  // Temporary scratch: this runs several times per mc-generic layer.
  return withUnsafeTemporaryAllocation(of: Double.self, capacity: n * n) { scratch in
    withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { orderBuffer in
      let work = scratch.baseAddress!, order = orderBuffer.baseAddress!
      return pivotedCholeskyFactor(n: n, a: a, lda: lda, work: work, order: order, into: factor, ldf: ldf)
    }
  }
}

private func pivotedCholeskyFactor(
  n: Int, a: UnsafePointer<Double>, lda: Int, work: UnsafeMutablePointer<Double>, order: UnsafeMutablePointer<Int>,
  into factor: UnsafeMutablePointer<Double>, ldf: Int
) -> Int {
  var largestDiagonal = 0.0, finite = true
  for i in 0..<n {
    order[i] = i
    for j in i..<n {
      work[i * n + j] = a[i * lda + j]
      work[j * n + i] = a[i * lda + j]
      finite = finite && a[i * lda + j].isFinite
    }
    largestDiagonal = max(largestDiagonal, a[i * lda + i])
  }
  // A non-finite A gives a NaN factor: the pivot comparisons would otherwise
  // read it as rank 0 and return F = 0, turning an overflow into zeros.
  if !finite {
    for i in 0..<n { (factor + i * ldf).update(repeating: .nan, count: n) }
    return 0
  }
  let tolerance = Double(n) * Double.ulpOfOne * largestDiagonal
  var rank = 0
  for j in 0..<n {
    // Pivot: the largest remaining diagonal entry (Schur complement).
    var pivot = j
    for i in (j + 1)..<n where work[i * n + i] > work[pivot * n + pivot] { pivot = i }
    let diagonal = work[pivot * n + pivot]
    if !(diagonal > tolerance) { break }
    if pivot != j {
      // Symmetric swap of rows and columns j and pivot.
      for k in 0..<n { swap(&work[j * n + k], &work[pivot * n + k]) }
      for k in 0..<n { swap(&work[k * n + j], &work[k * n + pivot]) }
      swap(&order[j], &order[pivot])
    }
    let root = diagonal.squareRoot()
    work[j * n + j] = root
    for i in (j + 1)..<n { work[i * n + j] /= root }
    // Schur complement update of the trailing block (lower triangle suffices,
    // kept symmetric for the diagonal scan).
    for i in (j + 1)..<n {
      let lij = work[i * n + j]
      for k in (j + 1)...i {
        work[i * n + k] -= lij * work[k * n + j]
        work[k * n + i] = work[i * n + k]
      }
    }
    rank += 1
  }
  for i in 0..<n {
    let row = factor + order[i] * ldf
    for k in 0..<min(i + 1, rank) { row[k] = work[i * n + k] }
  }
  return rank
}
