/// Sorts `count` values in place, largest first, keeping equal values (±0)
/// in their order: the order of the standard library's stable `sort(by: >)`,
/// without its scratch allocation. Insertion sort: the spectra it orders
/// (n ≤ a few thousand) cost O(n³) to compute, its O(n²) moves are noise.
/// NaNs stay where they are (every comparison with them is false).
internal func sortDescending(_ values: UnsafeMutablePointer<Double>, count: Int) {
  guard count > 1 else { return }
  for i in 1..<count {
    let x = values[i]
    var j = i
    while j > 0 && x > values[j - 1] {
      values[j] = values[j - 1]
      j -= 1
    }
    values[j] = x
  }
}
