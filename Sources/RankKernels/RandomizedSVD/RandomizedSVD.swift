/// The leading singular triplets of a matrix: A ≈ U·diag(values)·Vᵀ.
public struct SingularTriplets: Sendable {
  /// Singular values, descending (Float64).
  public var values: [Double]
  /// Left singular vectors, `rows × values.count`, row-major.
  public var left: [Float]
  /// Right singular vectors, `columns × values.count`, row-major.
  public var right: [Float]
  public var rows: Int
  public var columns: Int
}

/// The top `rank` singular triplets of an `m × n` matrix by randomized SVD
/// (Halko, Martinsson & Tropp 2011, Algorithms 4.4 and 5.1).
///
/// Sketch Y = A·Ω with a Gaussian Ω of `rank + oversampling` columns (drawn
/// from ``RandomStream`` with `seed`, so the result is reproducible), refine the
/// range with `powerIterations` steps of (A·Aᵀ) re-orthonormalised by QR after
/// every product (so singular values below ε^(1/(2q+1))·σ₁ are not lost to
/// round-off), then take B = Qᵀ·A and its exact SVD by one-sided Jacobi in
/// Float64.
///
/// Error: for a matrix whose spectrum decays past `rank`, the values are
/// accurate to about (σ_{k+p+1}/σ_k)^(2q+1) relative; for flat spectra, raise
/// `powerIterations`. GEMMs use `threads` and `backend`.
public func randomizedSVD(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, rank: Int,
  oversampling: Int = 10, powerIterations: Int = 2, seed: UInt64 = 0,
  threads: Int = Threading.defaultThreadCount, backend: (any LinearAlgebraBackend)? = nil
) -> SingularTriplets {
  let kernel: StaticString = "randomizedSVD"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  if rank < 1 || rank > min(m, n) {
    invalidArgument(kernel, "rank must be in 1...min(m, n) = \(min(m, n)), got rank = \(rank)")
  }
  requireNonNegative(kernel, "oversampling", oversampling)
  requireNonNegative(kernel, "powerIterations", powerIterations)
  let backend = backend ?? Backends.current
  let width = min(rank + oversampling, min(m, n))

  var omega = [Float](repeating: 0, count: n * width)
  omega.withUnsafeMutableBufferPointer {
    RandomStream(seed: seed, stream: 0).fillNormal($0.baseAddress!, count: n * width)
  }
  var basis = [Float](repeating: 0, count: m * width)   // Q: m × width
  var coBasis = [Float](repeating: 0, count: n * width) // Z: n × width
  orthonormalRange(
    of: a, lda, m: m, n: n, probe: omega, width: width, powerIterations: powerIterations,
    orthogonalTo: [], basisSize: 0, into: &basis, threads: threads, backend: backend)
  // Bᵀ = Aᵀ·Q (n × width); its SVD Bᵀ = U'ΣV'ᵀ gives A ≈ (Q·V')·Σ·U'ᵀ.
  multiply(a, lda, .transpose, basis, rows: n, inner: m, width: width, into: &coBasis, threads: threads, backend: backend)
  let (values, leftFactor, rightVectors) = thinSVD(of: coBasis, rows: n, columns: width)
  var left = [Float](repeating: 0, count: m * rank)
  var right = [Float](repeating: 0, count: n * rank)
  // left = Q · V'[:, :rank]; right = U'[:, :rank].
  for i in 0..<m {
    for j in 0..<rank {
      var sum = 0.0
      for l in 0..<width { sum += Double(basis[i * width + l]) * rightVectors[l * width + j] }
      left[i * rank + j] = Float(sum)
    }
  }
  for i in 0..<n {
    for j in 0..<rank { right[i * rank + j] = Float(leftFactor[i * width + j]) }
  }
  return SingularTriplets(values: Array(values.prefix(rank)), left: left, right: right, rows: m, columns: n)
}

/// The result of ``randomizedRankEstimate(m:n:a:lda:relativeTolerance:blockSize:powerIterations:seed:threads:backend:)``.
public struct RankEstimate: Sendable {
  /// The number of singular values above `relativeTolerance · σ₁`.
  public var rank: Int
  /// The singular values of the final projection B = QᵀA (≈ the leading ones of A).
  public var singularValues: [Double]
  /// ‖A − Q·Qᵀ·A‖_F when the basis stopped growing (an upper bound on every
  /// singular value of A that the basis missed).
  public var residualNorm: Double
  /// Columns of the range basis Q when it stopped.
  public var basisSize: Int
}

/// Fixed-precision randomized rank estimate: grows an orthonormal range basis
/// Q of A in blocks of `blockSize` Gaussian probes (each refined by
/// `powerIterations` power steps and re-orthogonalised against Q) until
/// ‖A − Q·Qᵀ·A‖_F ≤ relativeTolerance·σ₁(QᵀA), then counts the singular values
/// of QᵀA above relativeTolerance·σ₁.
///
/// Since σ_{r+1}(A) ≤ ‖A − QQᵀA‖₂ ≤ ‖A − QQᵀA‖_F, every singular value above the
/// threshold lies within the basis when the loop stops, so the count equals the
/// numerical rank at that threshold up to values within the residual of it.
/// The residual is computed explicitly (one GEMM per block) rather than by
/// subtracting norms, which in Float32 would cancel far above a Float32-level
/// threshold. Cost ∝ m·n·rank, versus m·n·min(m, n) for an exact SVD.
public func randomizedRankEstimate(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, relativeTolerance: Double,
  blockSize: Int = 8, powerIterations: Int = 1, seed: UInt64 = 0,
  threads: Int = Threading.defaultThreadCount, backend: (any LinearAlgebraBackend)? = nil
) -> RankEstimate {
  let kernel: StaticString = "randomizedRankEstimate"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  if !(relativeTolerance > 0 && relativeTolerance < 1) {
    invalidArgument(kernel, "relativeTolerance must be in (0, 1), got \(relativeTolerance)")
  }
  if blockSize < 1 { invalidArgument(kernel, "blockSize must be >= 1, got blockSize = \(blockSize)") }
  requireNonNegative(kernel, "powerIterations", powerIterations)
  let backend = backend ?? Backends.current
  let limit = min(m, n)
  if limit == 0 { return RankEstimate(rank: 0, singularValues: [], residualNorm: 0, basisSize: 0) }

  var basis: [Float] = []          // Q, m × size, row-major
  var projection: [Float] = []     // Qᵀ·A stored as Aᵀ·Q, n × size
  var size = 0
  var values: [Double] = []
  var residual = Double.infinity
  var block = 0
  while size < limit {
    let width = min(blockSize, limit - size)
    var probe = [Float](repeating: 0, count: n * width)
    probe.withUnsafeMutableBufferPointer {
      RandomStream(seed: seed, stream: UInt64(block)).fillNormal($0.baseAddress!, count: n * width)
    }
    var sketch = [Float](repeating: 0, count: m * width)
    orthonormalRange(
      of: a, lda, m: m, n: n, probe: probe, width: width, powerIterations: powerIterations,
      orthogonalTo: basis, basisSize: size, into: &sketch, threads: threads, backend: backend)
    // Twice is enough (Giraud et al.): re-project to keep Q orthonormal.
    projectOut(&sketch, basis: basis, rows: m, basisSize: size, width: width)
    orthonormalize(&sketch, rows: m, columns: width, backend: backend)
    basis = appendColumns(basis, rows: m, width: size, sketch, extra: width)
    size += width
    block += 1
    projection = [Float](repeating: 0, count: n * size)
    multiply(a, lda, .transpose, basis, rows: n, inner: m, width: size, into: &projection, threads: threads, backend: backend)
    values = thinSVD(of: projection, rows: n, columns: size, vectors: false).values
    residual = residualNorm(a, lda, m: m, n: n, basis: basis, projection: projection, size: size, threads: threads, backend: backend)
    let sigma1 = values.first ?? 0
    if sigma1 == 0 || residual <= relativeTolerance * sigma1 { break }
  }
  let threshold = relativeTolerance * (values.first ?? 0)
  return RankEstimate(
    rank: values.filter { $0 > threshold }.count, singularValues: values,
    residualNorm: residual, basisSize: size)
}

// MARK: - Helpers

/// The range finder shared by both algorithms: `range` (m × width) becomes an
/// orthonormal basis of (A·Aᵀ)^q·A·probe, kept orthogonal to the first
/// `basisSize` columns of `existing` (m × basisSize; empty for none), with a QR
/// re-orthonormalisation after every product so that small singular directions
/// survive round-off.
private func orthonormalRange(
  of a: UnsafePointer<Float>, _ lda: Int, m: Int, n: Int, probe: [Float], width: Int, powerIterations: Int,
  orthogonalTo existing: [Float], basisSize: Int, into range: inout [Float], threads: Int,
  backend: any LinearAlgebraBackend
) {
  var coRange = [Float](repeating: 0, count: n * width)
  multiply(a, lda, .noTranspose, probe, rows: m, inner: n, width: width, into: &range, threads: threads, backend: backend)
  projectOut(&range, basis: existing, rows: m, basisSize: basisSize, width: width)
  orthonormalize(&range, rows: m, columns: width, backend: backend)
  for _ in 0..<powerIterations {
    multiply(a, lda, .transpose, range, rows: n, inner: m, width: width, into: &coRange, threads: threads, backend: backend)
    orthonormalize(&coRange, rows: n, columns: width, backend: backend)
    multiply(a, lda, .noTranspose, coRange, rows: m, inner: n, width: width, into: &range, threads: threads, backend: backend)
    projectOut(&range, basis: existing, rows: m, basisSize: basisSize, width: width)
    orthonormalize(&range, rows: m, columns: width, backend: backend)
  }
}

/// out (rows × width) = op(A) · x, where x is inner × width row-major.
private func multiply(
  _ a: UnsafePointer<Float>, _ lda: Int, _ trans: Transpose, _ x: [Float],
  rows: Int, inner: Int, width: Int, into out: inout [Float], threads: Int, backend: any LinearAlgebraBackend
) {
  x.withUnsafeBufferPointer { xs in
    out.withUnsafeMutableBufferPointer { o in
      backend.sgemm(
        transA: trans, transB: .noTranspose, m: rows, n: width, k: inner, alpha: 1,
        a: a, lda: lda, b: xs.baseAddress!, ldb: width, beta: 0, c: o.baseAddress!, ldc: width,
        threads: threads)
    }
  }
}

/// Replaces the columns of `matrix` (rows × columns, row-major) by an
/// orthonormal basis of their span (thin QR's Q).
private func orthonormalize(_ matrix: inout [Float], rows: Int, columns: Int, backend: any LinearAlgebraBackend) {
  var r = [Float](repeating: 0, count: columns * columns)
  let source = matrix
  source.withUnsafeBufferPointer { a in
    r.withUnsafeMutableBufferPointer { rr in
      matrix.withUnsafeMutableBufferPointer { q in
        backend.householderQR(
          m: rows, n: columns, a: a.baseAddress!, lda: columns, r: rr.baseAddress!, ldr: columns,
          q: q.baseAddress!, ldq: columns, threads: 1)
      }
    }
  }
}

/// sketch ← sketch − Q·(Qᵀ·sketch) in Float64 arithmetic per element.
private func projectOut(_ sketch: inout [Float], basis: [Float], rows: Int, basisSize: Int, width: Int) {
  if basisSize == 0 { return }
  var coefficients = [Double](repeating: 0, count: basisSize * width)
  for i in 0..<rows {
    for l in 0..<basisSize {
      let q = Double(basis[i * basisSize + l])
      for j in 0..<width { coefficients[l * width + j] += q * Double(sketch[i * width + j]) }
    }
  }
  for i in 0..<rows {
    for j in 0..<width {
      var correction = 0.0
      for l in 0..<basisSize { correction += Double(basis[i * basisSize + l]) * coefficients[l * width + j] }
      sketch[i * width + j] = Float(Double(sketch[i * width + j]) - correction)
    }
  }
}

private func appendColumns(_ left: [Float], rows: Int, width: Int, _ right: [Float], extra: Int) -> [Float] {
  var result = [Float](repeating: 0, count: rows * (width + extra))
  for i in 0..<rows {
    for j in 0..<width { result[i * (width + extra) + j] = left[i * width + j] }
    for j in 0..<extra { result[i * (width + extra) + width + j] = right[i * extra + j] }
  }
  return result
}

/// ‖A − Q·(Aᵀ·Q)ᵀ‖_F, forming the residual one block of rows at a time.
private func residualNorm(
  _ a: UnsafePointer<Float>, _ lda: Int, m: Int, n: Int, basis: [Float], projection: [Float], size: Int,
  threads: Int, backend: any LinearAlgebraBackend
) -> Double {
  var difference = [Float](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n { difference[i * n + j] = a[i * lda + j] }
  }
  basis.withUnsafeBufferPointer { q in
    projection.withUnsafeBufferPointer { p in
      difference.withUnsafeMutableBufferPointer { d in
        backend.sgemm(
          transA: .noTranspose, transB: .transpose, m: m, n: n, k: size, alpha: -1,
          a: q.baseAddress!, lda: size, b: p.baseAddress!, ldb: size, beta: 1, c: d.baseAddress!, ldc: n,
          threads: threads)
      }
    }
  }
  var total = 0.0
  for x in difference { total += Double(x) * Double(x) }
  return total.squareRoot()
}

/// Thin SVD of a tall `rows × columns` Float matrix in Float64 by one-sided
/// Jacobi: returns σ (descending), U (rows × columns, row-major) and V
/// (columns × columns, row-major), columns ordered to match σ.
internal func thinSVD(of matrix: [Float], rows: Int, columns: Int, vectors: Bool = true)
  -> (values: [Double], left: [Double], right: [Double])
{
  var work = [Double](repeating: 0, count: rows * columns)
  for i in 0..<rows {
    for j in 0..<columns { work[j * rows + i] = Double(matrix[i * columns + j]) }
  }
  var v = [Double](repeating: 0, count: columns * columns)
  for j in 0..<columns { v[j * columns + j] = 1 }
  work.withUnsafeMutableBufferPointer { w in
    v.withUnsafeMutableBufferPointer { vv in
      oneSidedJacobi(columns: w.baseAddress!, rows: rows, count: columns, rightVectors: vectors ? vv.baseAddress! : nil)
    }
  }
  var norms = [Double](repeating: 0, count: columns)
  for j in 0..<columns {
    var sum = 0.0
    for i in 0..<rows { sum += work[j * rows + i] * work[j * rows + i] }
    norms[j] = sum.squareRoot()
  }
  let order = (0..<columns).sorted { norms[$0] > norms[$1] }
  let values = order.map { norms[$0] }
  guard vectors else { return (values, [], []) }
  var left = [Double](repeating: 0, count: rows * columns)
  var right = [Double](repeating: 0, count: columns * columns)
  for (target, source) in order.enumerated() {
    let scale = norms[source] > 0 ? 1 / norms[source] : 0
    for i in 0..<rows { left[i * columns + target] = work[source * rows + i] * scale }
    for i in 0..<columns { right[i * columns + target] = v[source * columns + i] }
  }
  return (values, left, right)
}
