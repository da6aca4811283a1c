/// A factor F (`n × n`, Float64, row-major, leading dimension `ldf`) with
/// F·Fᵀ = A for a symmetric positive semidefinite A, by Cholesky with
/// diagonal pivoting (LAPACK's dpstf2 algorithm, left-looking along rows). Returns the
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
/// Single-threaded; O(n²) per-thread scratch, reused (no allocation after warm-up).
@discardableResult
public func pivotedCholesky(
  n: Int, a: UnsafePointer<Double>, lda: Int, factor: UnsafeMutablePointer<Double>, ldf: Int
) -> Int {
  let kernel: StaticString = "pivotedCholesky"
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "ldf", ldf, columns: n, of: "F")
  let arena = ScratchArena.current
  let lower = arena.buffer(.choleskyLower, count: n * n, of: Double.self)
  let order = arena.buffer(.choleskyOrder, count: n, of: Int.self)
  let rank = pivotedCholesky(n: n, a: a, lda: lda, lower: lower, ldl: n, order: order)
  for i in 0..<n { (factor + order[i] * ldf).update(from: lower + i * n, count: n) }
  return rank
}

/// The pivoted Cholesky factor itself: writes L (`n × n`, Float64, row-major,
/// leading dimension `ldl`; zero above the diagonal and in the columns from
/// the returned rank r on) and the pivot order, with
/// A[order[i], order[j]] = (L·Lᵀ)[i, j] up to the backward error of
/// ``pivotedCholesky(n:a:lda:factor:ldf:)``, which is Pᵀ·L in this notation.
/// Keeping L triangular lets products with it skip the zero half
/// (``lowerTriangularProduct(m:n:k:alpha:a:lda:b:ldb:c:ldc:threads:backend:)``).
///
/// Same algorithm, stopping rule and non-finite handling (L all NaN, rank
/// 0, order the identity); `order` holds n entries. Single-threaded.
@discardableResult
public func pivotedCholesky(
  n: Int, a: UnsafePointer<Double>, lda: Int, lower: UnsafeMutablePointer<Double>, ldl: Int,
  order: UnsafeMutablePointer<Int>
) -> Int {
  let kernel: StaticString = "pivotedCholesky"
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  requireLeadingDimension(kernel, "ldl", ldl, columns: n, of: "L")
  for i in 0..<n { (lower + i * ldl).update(repeating: 0, count: n) }
  if n == 0 { return 0 }
  // work: the permuted matrix, full storage (rows an odd number of cache
  // lines apart), and the Schur complement's diagonal. Per-thread scratch:
  // this runs several times per mc-generic layer.
  let ldw = oddCacheLineStride(doubleColumns: n)
  let work = ScratchArena.current.buffer(.choleskyWork, count: n * ldw + n, of: Double.self)
  return pivotedCholeskyFactor(
    n: n, a: a, lda: lda, work: work, ldw: ldw, diagonal: work + n * ldw, order: order, into: lower, ldl: ldl)
}

private func pivotedCholeskyFactor(
  n: Int, a: UnsafePointer<Double>, lda: Int, work: UnsafeMutablePointer<Double>, ldw: Int, diagonal: UnsafeMutablePointer<Double>,
  order: UnsafeMutablePointer<Int>, into lower: UnsafeMutablePointer<Double>, ldl: Int
) -> Int {
  var largestDiagonal = 0.0, finite = true
  for i in 0..<n {
    order[i] = i
    for j in i..<n {
      work[i &* ldw &+ j] = a[i * lda + j]
      work[j &* ldw &+ i] = a[i * lda + j]
      finite = finite && a[i * lda + j].isFinite
    }
    diagonal[i] = a[i * lda + i]
    largestDiagonal = max(largestDiagonal, a[i * lda + i])
  }
  // A non-finite A gives a NaN factor: the pivot comparisons would otherwise
  // read it as rank 0 and return F = 0, turning an overflow into zeros.
  if !finite {
    for i in 0..<n { (lower + i * ldl).update(repeating: .nan, count: n) }
    return 0
  }
  let tolerance = Double(n) * Double.ulpOfOne * largestDiagonal
  var rank = 0
  // Row j of `work` becomes row j of U = Lᵀ (left-looking, as dpstf2):
  // U[j, k] = (A[j, k] − Σ_{p<j} U[p, j]·U[p, k]) / U[j, j], every access
  // along a row; `diagonal` holds the Schur complement's diagonal.
  for j in 0..<n {
    var pivot = j
    for i in (j + 1)..<n where diagonal[i] > diagonal[pivot] { pivot = i }
    let schur = diagonal[pivot]
    if !(schur > tolerance) { break }
    if pivot != j {
      // Symmetric swap of rows and columns j and pivot (columns of the U rows
      // above j included: they are L's rows).
      for k in 0..<n { swap(&work[j &* ldw &+ k], &work[pivot &* ldw &+ k]) }
      for k in 0..<n { swap(&work[k &* ldw &+ j], &work[k &* ldw &+ pivot]) }
      swap(&diagonal[j], &diagonal[pivot])
      swap(&order[j], &order[pivot])
    }
    let root = schur.squareRoot()
    let row = work + j &* ldw
    subtractPriorRows(work, ldw: ldw, n: n, row: j)
    row[j] = root
    for k in (j + 1)..<n {
      row[k] /= root
      diagonal[k] -= row[k] * row[k]
    }
    rank += 1
  }
  for i in 0..<n {
    let target = lower + i * ldl
    for k in 0..<min(i + 1, rank) { target[k] = work[k &* ldw &+ i] }
  }
  return rank
}

/// work[j, k] −= Σ_{p<j} work[p, j]·work[p, k] for k > j, in increasing p
/// for every element and with the product rounded before the subtraction
/// (no FMA), so the factor is bit-identical to the right-looking
/// elimination's. Columns go 32 at a time (eight register accumulators, so
/// each loaded vector of a prior row feeds one update), and the rest in
/// blocks of 16, 8, 4, 2 and 1: four columns at a time, one accumulator
/// chained through all j prior rows, was latency-bound (the blocks made
/// 16 × 16 1.4× faster, 128 × 128 1.1×).
@inline(__always)
private func subtractPriorRows(_ work: UnsafeMutablePointer<Double>, ldw: Int, n: Int, row j: Int) {
  var k = j + 1
  typealias V = SIMD4<Double>
  while k + 32 <= n {
    let t = UnsafeMutableRawPointer(work + (j &* ldw &+ k))
    var r0 = t.loadUnaligned(as: V.self), r1 = t.loadUnaligned(fromByteOffset: 32, as: V.self)
    var r2 = t.loadUnaligned(fromByteOffset: 64, as: V.self), r3 = t.loadUnaligned(fromByteOffset: 96, as: V.self)
    var r4 = t.loadUnaligned(fromByteOffset: 128, as: V.self), r5 = t.loadUnaligned(fromByteOffset: 160, as: V.self)
    var r6 = t.loadUnaligned(fromByteOffset: 192, as: V.self), r7 = t.loadUnaligned(fromByteOffset: 224, as: V.self)
    for p in 0..<j {
      let s = V(repeating: work[p &* ldw &+ j])
      let u = UnsafeRawPointer(work + (p &* ldw &+ k))
      r0 = r0 - s * u.loadUnaligned(as: V.self); r1 = r1 - s * u.loadUnaligned(fromByteOffset: 32, as: V.self)
      r2 = r2 - s * u.loadUnaligned(fromByteOffset: 64, as: V.self); r3 = r3 - s * u.loadUnaligned(fromByteOffset: 96, as: V.self)
      r4 = r4 - s * u.loadUnaligned(fromByteOffset: 128, as: V.self); r5 = r5 - s * u.loadUnaligned(fromByteOffset: 160, as: V.self)
      r6 = r6 - s * u.loadUnaligned(fromByteOffset: 192, as: V.self); r7 = r7 - s * u.loadUnaligned(fromByteOffset: 224, as: V.self)
    }
    t.storeBytes(of: r0, as: V.self); t.storeBytes(of: r1, toByteOffset: 32, as: V.self)
    t.storeBytes(of: r2, toByteOffset: 64, as: V.self); t.storeBytes(of: r3, toByteOffset: 96, as: V.self)
    t.storeBytes(of: r4, toByteOffset: 128, as: V.self); t.storeBytes(of: r5, toByteOffset: 160, as: V.self)
    t.storeBytes(of: r6, toByteOffset: 192, as: V.self); t.storeBytes(of: r7, toByteOffset: 224, as: V.self)
    k += 32
  }
  /// The next `V.scalarCount` columns, where that many are left.
  @inline(__always) func block<V: SIMD>(_: V.Type) where V.Scalar == Double {
    guard k + V.scalarCount <= n else { return }
    subtractPriorRows(V.self, work, ldw: ldw, row: j, columns: k)
    k += V.scalarCount
  }
  block(SIMD16<Double>.self)
  block(SIMD8<Double>.self)
  block(SIMD4<Double>.self)
  block(SIMD2<Double>.self)
  if k < n {
    var r = work[j &* ldw &+ k]
    for p in 0..<j { r = r - work[p &* ldw &+ j] * work[p &* ldw &+ k] }
    work[j &* ldw &+ k] = r
  }
}

/// The update of `V.scalarCount` columns of row j from column k, the whole
/// block in registers across the prior rows.
@inline(__always)
private func subtractPriorRows<V: SIMD>(_: V.Type, _ work: UnsafeMutablePointer<Double>, ldw: Int, row j: Int, columns k: Int)
where V.Scalar == Double {
  let target = UnsafeMutableRawPointer(work + (j &* ldw &+ k))
  var r = target.loadUnaligned(as: V.self)
  for p in 0..<j { r = r - V(repeating: work[p &* ldw &+ j]) * UnsafeRawPointer(work + (p &* ldw &+ k)).loadUnaligned(as: V.self) }
  target.storeBytes(of: r, as: V.self)
}
