/// Stops the program with a message that names the kernel, the argument and
/// the offending values.
///
/// Kernels take raw pointers and sizes, as BLAS does, so a wrong size is a
/// programming error rather than a recoverable condition; like `xerbla` it
/// stops, but it says precisely what was wrong. `fatalError` (unlike
/// `precondition`) keeps its message in optimised builds.
@usableFromInline
@inline(never)
internal func invalidArgument(_ kernel: StaticString, _ message: String) -> Never {
  fatalError("RankKernels.\(kernel): \(message)")
}

/// Checks that a size argument is non-negative.
@inlinable
internal func requireNonNegative(_ kernel: StaticString, _ name: StaticString, _ value: Int) {
  if value < 0 { invalidArgument(kernel, "\(name) must be >= 0, got \(name) = \(value)") }
}

/// Checks a row-major leading dimension: it must cover a row of `columns`
/// elements (and be at least 1, as in BLAS).
@inlinable
internal func requireLeadingDimension(
  _ kernel: StaticString, _ name: StaticString, _ value: Int, columns: Int, of matrix: StaticString
) {
  if value < max(1, columns) {
    invalidArgument(
      kernel,
      "\(name) (\(value)) must be >= max(1, columns of \(matrix)) = \(max(1, columns))")
  }
}
