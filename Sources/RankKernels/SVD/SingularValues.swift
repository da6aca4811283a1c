/// The singular values of an `m × n` Float32 matrix (row-major, leading
/// dimension `lda`), computed in Float64, in descending order (min(m, n) of
/// them), to LAPACK dgesdd's accuracy: each within about c·min(m, n)·ε·σ₁ of
/// the exact one.
///
/// The entry point to call first: on the Swift backend
/// ``singularValuesByBidiagonalization(m:n:a:lda:into:)`` (QR when tall,
/// Golub–Kahan bidiagonalisation, dqds; 1.2–1.6× dgesdd on Zen 3), on the
/// OpenBLAS backend LAPACKE's dgesdd on a Float64 copy. For singular values
/// far below σ₁ that matter relative to themselves, use
/// ``singularValuesByJacobi(m:n:a:lda:into:)``.
///
/// Single-threaded; `backend` defaults to ``Backends/current``. A matrix with
/// any NaN or ±inf yields NaN singular values.
public func singularValues(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
  into values: UnsafeMutablePointer<Double>,
  backend: (any LinearAlgebraBackend)? = nil
) {
  let kernel: StaticString = "singularValues"
  requireNonNegative(kernel, "m", m)
  requireNonNegative(kernel, "n", n)
  requireLeadingDimension(kernel, "lda", lda, columns: n, of: "A")
  (backend ?? Backends.current).singularValues(m: m, n: n, a: a, lda: lda, into: values)
}

/// Convenience: ``singularValues(m:n:a:lda:into:backend:)`` of a row-major `m × n` array.
public func singularValues(
  of matrix: [Float], rows m: Int, columns n: Int, backend: (any LinearAlgebraBackend)? = nil
) -> [Double] {
  singularValuesOfArray(matrix, rows: m, columns: n, kernel: "singularValues") {
    singularValues(m: m, n: n, a: $0, lda: max(1, n), into: $1, backend: backend)
  }
}

/// The min(m, n) values `compute(a, values)` writes for a row-major array,
/// after checking its size (the array conveniences of both entries).
func singularValuesOfArray(
  _ matrix: [Float], rows m: Int, columns n: Int, kernel: StaticString,
  _ compute: (UnsafePointer<Float>, UnsafeMutablePointer<Double>) -> Void
) -> [Double] {
  if matrix.count != m * n {
    invalidArgument(kernel, "matrix.count (\(matrix.count)) must equal rows·columns = \(m)·\(n) = \(m * n)")
  }
  var values = [Double](repeating: 0, count: min(m, n))
  matrix.withUnsafeBufferPointer { a in
    values.withUnsafeMutableBufferPointer { out in
      if let base = a.baseAddress, let target = out.baseAddress { compute(base, target) }
    }
  }
  return values
}
