/// The smallest multiple of `step` that is ≥ `value` (`value` ≥ 0, `step` > 0):
/// tile-padded sizes of packed panels and score strips.
@inline(__always)
internal func roundUp(_ value: Int, toMultipleOf step: Int) -> Int {
  (value + step - 1) / step * step
}

/// A row stride (in Float64 elements) of at least `columns` that puts rows
/// an odd number of 64-byte cache lines apart. At a power-of-two stride
/// (128 columns: 1 KiB) a walk down a column, as in pivoted Cholesky's swaps
/// and the strided reads of U[p, j], falls into a few L1 sets: that walk took
/// a third of `pivotedCholesky`'s time at n = 128.
@inline(__always)
internal func oddCacheLineStride(doubleColumns columns: Int) -> Int {
  8 * (2 * ((columns + 15) / 16) + 1)
}
