/// The smallest multiple of `step` that is ≥ `value` (`value` ≥ 0, `step` > 0):
/// tile-padded sizes of packed panels and score strips.
@inline(__always)
internal func roundUp(_ value: Int, toMultipleOf step: Int) -> Int {
  (value + step - 1) / step * step
}
