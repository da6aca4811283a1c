/// |v| lane by lane by clearing the sign bits (one vandpd).
@inline(__always)
private func absolute(_ v: SIMD4<Double>) -> SIMD4<Double> {
  unsafeBitCast(unsafeBitCast(v, to: SIMD4<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD4<Double>.self)
}

/// Statistics of a matrix X (`rows × columns`, Float32, row-major, leading
/// dimension `ldx`) and of its row-centred form X − 1·meanᵀ, in one Float64
/// pass: the mean row, both squared Frobenius norms, and both composite norms
/// √(‖·‖₁·‖·‖_∞) (max absolute column sum times max absolute row sum; Dong et
/// al.'s measure of rank collapse). Centring happens in Float64 from the
/// Float32 entries, so a residual far below ε_f32·‖X‖ is still resolved.
/// Single-threaded.
public struct CentringStatistics: Sendable {
  /// The mean of the rows (`columns` values); empty when the initialiser was
  /// told not to keep it.
  public var mean: [Double]
  /// ‖X‖_F² and ‖X − 1·meanᵀ‖_F².
  public var totalSquares = 0.0, residualSquares = 0.0
  /// √(‖X‖₁·‖X‖_∞) and the same for X − 1·meanᵀ.
  public var compositeNorm = 0.0, residualCompositeNorm = 0.0

  /// `keepsMean`: false leaves `mean` empty (the mean row then lives in
  /// per-thread scratch only, and the statistics allocate nothing).
  public init(rows n: Int, columns d: Int, x: UnsafePointer<Float>, ldx: Int, keepsMean: Bool = true) {
    let kernel: StaticString = "CentringStatistics"
    requireNonNegative(kernel, "rows", n)
    requireNonNegative(kernel, "columns", d)
    requireLeadingDimension(kernel, "ldx", ldx, columns: d, of: "X")
    // Per-thread scratch: this runs once per measured matrix, every layer of every sample.
    let columnSums = ScratchArena.current.buffer(.centringColumnSums, count: 3 * d, of: Double.self)
    columnSums.update(repeating: 0, count: 3 * d)
    var maxRow = 0.0, maxResidualRow = 0.0
    var total = 0.0, residual = 0.0
    let m = columnSums + 2 * d, columnAbs = columnSums, residualColumnAbs = columnAbs + d
    for i in 0..<n {
      let row = x + i * ldx
      for j in 0..<d { m[j] += Double(row[j]) }
    }
    let inverse = 1 / Double(max(n, 1))
    for j in 0..<d { m[j] *= inverse }
    // Four columns at a time with vector accumulators: the row
    // reductions would otherwise keep the loop scalar (no reassociation).
    typealias Double4 = SIMD4<Double>
    var total4 = Double4(), residual4 = Double4()
    let vectorEnd = d & ~3
    for i in 0..<n {
      let row = x + i * ldx
      var rowAbs4 = Double4(), residualRowAbs4 = Double4()
      var j = 0
      while j < vectorEnd {
        let value = Double4(Double(row[j]), Double(row[j + 1]), Double(row[j + 2]), Double(row[j + 3]))
        let meanValue = UnsafeRawPointer(m + j).loadUnaligned(as: Double4.self)
        let r = value - meanValue
        total4.addProduct(value, value)
        residual4.addProduct(r, r)
        let absValue = absolute(value), absR = absolute(r)
        rowAbs4 += absValue
        residualRowAbs4 += absR
        let columnTarget = UnsafeMutableRawPointer(columnAbs + j), residualTarget = UnsafeMutableRawPointer(residualColumnAbs + j)
        columnTarget.storeBytes(of: columnTarget.loadUnaligned(as: Double4.self) + absValue, as: Double4.self)
        residualTarget.storeBytes(of: residualTarget.loadUnaligned(as: Double4.self) + absR, as: Double4.self)
        j += 4
      }
      var rowAbs = rowAbs4.sum(), residualRowAbs = residualRowAbs4.sum()
      while j < d {
        let value = Double(row[j])
        let r = value - m[j]
        total += value * value
        residual += r * r
        rowAbs += abs(value)
        residualRowAbs += abs(r)
        columnAbs[j] += abs(value)
        residualColumnAbs[j] += abs(r)
        j += 1
      }
      maxRow = max(maxRow, rowAbs)
      maxResidualRow = max(maxResidualRow, residualRowAbs)
    }
    total += total4.sum()
    residual += residual4.sum()
    mean = keepsMean ? Array(UnsafeBufferPointer(start: columnSums + 2 * d, count: d)) : []
    totalSquares = total
    residualSquares = residual
    compositeNorm = (largest(columnAbs, count: d) * maxRow).squareRoot()
    residualCompositeNorm = (largest(residualColumnAbs, count: d) * maxResidualRow).squareRoot()
  }
}

/// The largest of `count` non-negative values (0 for none), in four
/// independent chains: `Sequence.max()` over a buffer slice ran as generic
/// code, a quarter of the statistics' time at 16 × 768.
@inline(__always)
private func largest(_ values: UnsafePointer<Double>, count: Int) -> Double {
  var m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0
  var j = 0
  while j + 4 <= count {
    m0 = max(m0, values[j])
    m1 = max(m1, values[j + 1])
    m2 = max(m2, values[j + 2])
    m3 = max(m3, values[j + 3])
    j += 4
  }
  while j < count {
    m0 = max(m0, values[j])
    j += 1
  }
  return max(max(m0, m1), max(m2, m3))
}
