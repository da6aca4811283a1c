import RankKernels
import Testing

@Suite("LayerNorm against a Float64 reference")
struct LayerNormTests {
  /// Float64 layer norm of the same Float32 input.
  private func reference(_ x: [Float], rows: Int, columns: Int, gamma: [Float]?, beta: [Float]?, eps: Float) -> [Double] {
    var y = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows {
      let row = x[(i * columns)..<((i + 1) * columns)].map(Double.init)
      let mean = row.reduce(0, +) / Double(columns)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
      let inverse = 1 / (variance + Double(eps)).squareRoot()
      for j in 0..<columns {
        y[i * columns + j] = (row[j] - mean) * inverse * Double(gamma?[j] ?? 1) + Double(beta?[j] ?? 0)
      }
    }
    return y
  }

  /// Error bound: the lane-wise sums add columns/8 terms each (mean and
  /// variance errors ≈ (columns/8)·u relative to the row's spread), plus a few
  /// roundings in the output expression.
  private func expectClose(_ y: [Float], _ expected: [Double], columns: Int, gamma: [Float]?, beta: [Float]?) {
    var worst = 0.0
    for (index, value) in expected.enumerated() {
      let j = index % columns
      let g = abs(Double(gamma?[j] ?? 1)), b = abs(Double(beta?[j] ?? 0))
      let normalized = g > 0 ? abs(value - Double(beta?[j] ?? 0)) / g : 0
      let bound = (Double(columns) / 8 + 16) * unitRoundoff * g * (normalized + 1) + 4 * unitRoundoff * b
      worst = max(worst, abs(Double(y[index]) - value) / bound)
    }
    #expect(worst <= 1, "error/bound = \(worst)")
  }

  @Test(arguments: [1, 7, 17, 65, 127, 768, 769])
  func randomRowsWithGammaAndBeta(columns: Int) {
    let rows = 5
    let x = randomMatrix(rows, columns, seed: UInt64(columns)).map { 3 * $0 + 0.5 }
    let gamma = randomMatrix(1, columns, seed: 1).map { 1 + $0 }
    let beta = randomMatrix(1, columns, seed: 2)
    var y = [Float](repeating: 0, count: rows * columns)
    layerNorm(rows: rows, columns: columns, input: x, gamma: gamma, beta: beta, eps: 1e-12, output: &y, threads: 2)
    // A single column has variance 0: every output is beta.
    expectClose(y, reference(x, rows: rows, columns: columns, gamma: gamma, beta: beta, eps: 1e-12), columns: columns, gamma: gamma, beta: beta)
  }

  @Test func largeOffsetWithSmallNoiseKeepsTheNoise() {
    // Rows 1e4 + N(0, 0.01²): a naive E[x²] − E[x]² in Float32 loses all of it.
    let columns = 768, rows = 4
    let x = gaussianMatrix(rows, columns, seed: 3).map { 10_000 + 0.01 * $0 }
    var y = [Float](repeating: 0, count: rows * columns)
    layerNorm(rows: rows, columns: columns, input: x, gamma: nil, beta: nil, eps: 1e-12, output: &y)
    expectClose(y, reference(x, rows: rows, columns: columns, gamma: nil, beta: nil, eps: 1e-12), columns: columns, gamma: nil, beta: nil)
  }

  /// Rows whose first eight values sit far from the mean (the one-pass shift
  /// is then unrepresentative and the second, corrected pass must run), with
  /// each combination of gamma and beta present (each has its own loop).
  @Test(arguments: [(true, true), (true, false), (false, true), (false, false)])
  func unrepresentativeRowHeadAndEveryAffineCombination(affine: (gamma: Bool, beta: Bool)) {
    let columns = 771, rows = 3
    var x = gaussianMatrix(rows, columns, seed: 5).map { 0.01 * $0 }
    for i in 0..<rows { for j in 0..<8 { x[i * columns + j] += 1e4 } }
    let gamma = affine.gamma ? randomMatrix(1, columns, seed: 6).map { 1 + $0 } : nil
    let beta = affine.beta ? randomMatrix(1, columns, seed: 7) : nil
    var y = [Float](repeating: 0, count: rows * columns)
    layerNorm(rows: rows, columns: columns, input: x, gamma: gamma, beta: beta, eps: 1e-12, output: &y)
    expectClose(y, reference(x, rows: rows, columns: columns, gamma: gamma, beta: beta, eps: 1e-12), columns: columns, gamma: gamma, beta: beta)
  }

  /// Rows whose shift (the mean of their first eight values) sits just inside
  /// the one-pass bound, δ² = 0.7…1 × variance, on an offset of 1e3: the worst
  /// cancellation the single pass accepts must still meet the bound.
  @Test func rowJustInsideTheOnePassBoundKeepsItsAccuracy() {
    let columns = 768, rows = 4
    var x = gaussianMatrix(rows, columns, seed: 8).map { 1_000 + $0 }
    for i in 0..<rows { for j in 0..<8 { x[i * columns + j] = 1_000.95 } }
    for i in 0..<rows {
      let row = x[(i * columns)..<((i + 1) * columns)].map(Double.init)
      let mean = row.reduce(0, +) / Double(columns)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
      let shift = Double(row[0..<8].reduce(0, +)) / 8
      let k = (shift - mean) * (shift - mean) / variance
      #expect(k > 0.7 && k < 1, "row \(i): δ²/variance = \(k), meant to sit just inside the one-pass bound")
    }
    var y = [Float](repeating: 0, count: rows * columns)
    layerNorm(rows: rows, columns: columns, input: x, gamma: nil, beta: nil, eps: 1e-12, output: &y)
    expectClose(y, reference(x, rows: rows, columns: columns, gamma: nil, beta: nil, eps: 1e-12), columns: columns, gamma: nil, beta: nil)
  }

  @Test func constantRowNormalizesToBetaThroughEps() {
    let columns = 19
    let x = [Float](repeating: 4.25, count: columns)
    let beta = randomMatrix(1, columns, seed: 4)
    var y = [Float](repeating: .nan, count: columns)
    layerNorm(rows: 1, columns: columns, input: x, gamma: nil, beta: beta, eps: 1e-5, output: &y)
    #expect(y == beta)
  }

  @Test func inPlaceAndFusedResidualAgreeWithSeparateSteps() {
    let rows = 9, columns = 65
    let x = randomMatrix(rows, columns, seed: 5), r = randomMatrix(rows, columns, seed: 6)
    let sum = zip(x, r).map { $0 + $1 }
    var separate = [Float](repeating: 0, count: rows * columns)
    layerNorm(rows: rows, columns: columns, input: sum, gamma: nil, beta: nil, eps: 1e-12, output: &separate)
    var fused = [Float](repeating: 0, count: rows * columns)
    var stored = [Float](repeating: 0, count: rows * columns)
    addLayerNorm(rows: rows, columns: columns, input: x, residual: r, gamma: nil, beta: nil, eps: 1e-12, sum: &stored, output: &fused)
    #expect(fused == separate)
    #expect(stored == sum)
    var inPlace = sum
    inPlace.withUnsafeMutableBufferPointer { buffer in
      layerNorm(rows: rows, columns: columns, input: buffer.baseAddress!, gamma: nil, beta: nil, eps: 1e-12, output: buffer.baseAddress!)
    }
    #expect(inPlace == separate)
  }

  @Test func nonFiniteRowBecomesNaNAndOtherRowsAreUntouched() {
    var x = randomMatrix(2, 16, seed: 7)
    x[3] = .infinity
    var y = [Float](repeating: 0, count: 32)
    layerNorm(rows: 2, columns: 16, input: x, gamma: nil, beta: nil, eps: 1e-12, output: &y)
    #expect(y[0..<16].allSatisfy { $0.isNaN })
    #expect(y[16..<32].allSatisfy { $0.isFinite })
  }
}
