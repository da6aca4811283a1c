import Foundation
import RankKernels
import Testing

@Suite("Centring statistics of token matrices")
struct CentringStatisticsTests {
  /// Against a Float64 computation on the same Float32 entries, at awkward
  /// sizes and with an offset that makes the centred part small.
  @Test(arguments: [(1, 7), (7, 1), (17, 65), (65, 17), (127, 769)])
  func matchesAFloat64Reference(size: (n: Int, d: Int)) {
    let (n, d) = size
    var x = [Float](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { x[i * d + j] = Float(100 + sin(Double(i * 31 + j * 7)) + 0.01 * Double(j % 5)) } }
    let stats = x.withUnsafeBufferPointer { CentringStatistics(rows: n, columns: d, x: $0.baseAddress!, ldx: d) }
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) / Double(n) } }
    var total = 0.0, residual = 0.0
    var rowSums = [Double](repeating: 0, count: n), columnSums = [Double](repeating: 0, count: d)
    var residualRows = [Double](repeating: 0, count: n), residualColumns = [Double](repeating: 0, count: d)
    for i in 0..<n {
      for j in 0..<d {
        let value = Double(x[i * d + j]), centred = value - mean[j]
        total += value * value
        residual += centred * centred
        rowSums[i] += abs(value); columnSums[j] += abs(value)
        residualRows[i] += abs(centred); residualColumns[j] += abs(centred)
      }
    }
    let tolerance = 1e-12 * Double(n * d)
    for j in 0..<d { #expect(abs(stats.mean[j] - mean[j]) <= tolerance * abs(mean[j])) }
    #expect(abs(stats.totalSquares - total) <= tolerance * total)
    // The residual is ~1e-4 of the total: it must come from centred sums, not a difference.
    #expect(abs(stats.residualSquares - residual) <= 1e-9 * max(residual, 1e-300) + tolerance * 1e-12 * total, "\(stats.residualSquares) vs \(residual)")
    let composite = (rowSums.max()! * columnSums.max()!).squareRoot()
    let residualComposite = (residualRows.max()! * residualColumns.max()!).squareRoot()
    #expect(abs(stats.compositeNorm - composite) <= tolerance * composite)
    #expect(abs(stats.residualCompositeNorm - residualComposite) <= 1e-9 * max(residualComposite, 1e-300))
  }
}
