/// Layer normalisation of each row of a row-major `rows × columns` matrix:
/// `output[i, j] = (x[i, j] − μ_i) / sqrt(σ²_i + eps) · gamma[j] + beta[j]`,
/// with μ_i and σ²_i the mean and (biased) variance of row i.
///
/// - Parameters:
///   - input: `rows × columns`, row stride `columns`.
///   - gamma, beta: `columns` scales and shifts; nil means 1 and 0.
///   - output: `rows × columns`; may be the same buffer as `input` (in place).
///   - threads: rows are split across threads; each row's result is
///     independent of the split.
///
/// Accuracy: the mean is refined by a second pass over x − μ₀ (the
/// "corrected two-pass" algorithm), so rows like 1e4 + small noise keep the
/// noise's variance to Float32 accuracy instead of losing it to cancellation.
/// A constant row has variance 0 and normalises to `beta` (through `eps`).
/// A row containing NaN or ±inf yields NaN in every element.
public func layerNorm(
  rows: Int, columns: Int, input: UnsafePointer<Float>,
  gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
  output: UnsafeMutablePointer<Float>, threads: Int = 1
) {
  validateLayerNorm("layerNorm", rows: rows, columns: columns, eps: eps, threads: threads)
  forEachRowBlock(rows: rows, columns: columns, threads: threads) { row in
    normalizeRow(
      input + row * columns, count: columns, gamma: gamma, beta: beta, eps: eps,
      output: output + row * columns)
  }
}

/// Fused residual add and layer normalisation, as in a post-LN Transformer
/// block: `h = input + residual`, `output = layerNorm(h)`, and `h` is also
/// written to `sum` when it is non-nil (pre-LN blocks need it).
///
/// Shapes and semantics as in ``layerNorm(rows:columns:input:gamma:beta:eps:output:threads:)``;
/// `output` or `sum` may alias `input` or `residual`. One pass over memory
/// instead of two: `h` is formed while the row is in L1.
public func addLayerNorm(
  rows: Int, columns: Int, input: UnsafePointer<Float>, residual: UnsafePointer<Float>,
  gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
  sum: UnsafeMutablePointer<Float>? = nil, output: UnsafeMutablePointer<Float>, threads: Int = 1
) {
  validateLayerNorm("addLayerNorm", rows: rows, columns: columns, eps: eps, threads: threads)
  forEachRowBlock(rows: rows, columns: columns, threads: threads) { row in
    let destination = output + row * columns
    let h = sum.map { $0 + row * columns } ?? destination
    addVectors(input + row * columns, residual + row * columns, count: columns, into: h)
    normalizeRow(UnsafePointer(h), count: columns, gamma: gamma, beta: beta, eps: eps, output: destination)
  }
}

private func validateLayerNorm(_ kernel: StaticString, rows: Int, columns: Int, eps: Float, threads: Int) {
  requireNonNegative(kernel, "rows", rows)
  if columns < 1 { invalidArgument(kernel, "columns must be >= 1, got columns = \(columns)") }
  if !(eps >= 0) || !eps.isFinite { invalidArgument(kernel, "eps must be finite and >= 0, got eps = \(eps)") }
  if threads < 1 { invalidArgument(kernel, "threads must be >= 1, got threads = \(threads)") }
}

/// Runs `body(row)` for every row, in blocks of rows spread over threads; small
/// matrices (under ~64 K elements) stay on the calling thread.
@inline(__always)
internal func forEachRowBlock(rows: Int, columns: Int, threads: Int, _ body: (Int) -> Void) {
  let usable = rows * columns < 1 << 16 ? 1 : threads
  let blocks = splitRange(rows, parts: usable * 4, granule: 1)
  parallelForEach(taskCount: blocks.count, threads: usable) { block in
    for row in blocks[block] { body(row) }
  }
}

@inline(__always)
private func addVectors(
  _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int, into result: UnsafeMutablePointer<Float>
) {
  var j = 0
  while j + 8 <= count {
    let sum = loadVector(x + j) + loadVector(y + j)
    storeVector(sum, result + j)
    j += 8
  }
  while j < count { result[j] = x[j] + y[j]; j += 1 }
}

@inline(__always) @usableFromInline
func loadVector(_ pointer: UnsafePointer<Float>) -> Float8 {
  UnsafeRawPointer(pointer).loadUnaligned(as: Float8.self)
}

@inline(__always) @usableFromInline
func storeVector(_ value: Float8, _ pointer: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Float8.self)
}

/// Σ x over a row, 32 lanes wide (so each lane adds only count/32 values):
/// four independent accumulators also keep the adds' latency off the
/// critical path.
@inline(__always)
private func rowSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = Float8(), s1 = Float8(), s2 = Float8(), s3 = Float8()
  var j = 0
  while j + 32 <= count {
    s0 += loadVector(x + j); s1 += loadVector(x + j + 8)
    s2 += loadVector(x + j + 16); s3 += loadVector(x + j + 24)
    j += 32
  }
  while j + 8 <= count { s0 += loadVector(x + j); j += 8 }
  var sum = horizontalSum((s0 + s1) + (s2 + s3))
  while j < count { sum += x[j]; j += 1 }
  return sum
}

/// Σ d and Σ d² for d = x − shift over a row, with four accumulators each.
@inline(__always)
private func rowDeviationSums(_ x: UnsafePointer<Float>, count: Int, minus shift: Float) -> (sum: Float, sumOfSquares: Float) {
  let shiftV = Float8(repeating: shift)
  var s0 = Float8(), s1 = Float8(), s2 = Float8(), s3 = Float8()
  var q0 = Float8(), q1 = Float8(), q2 = Float8(), q3 = Float8()
  var j = 0
  while j + 32 <= count {
    let d0 = loadVector(x + j) - shiftV, d1 = loadVector(x + j + 8) - shiftV
    let d2 = loadVector(x + j + 16) - shiftV, d3 = loadVector(x + j + 24) - shiftV
    s0 += d0; s1 += d1; s2 += d2; s3 += d3
    q0.addProduct(d0, d0); q1.addProduct(d1, d1); q2.addProduct(d2, d2); q3.addProduct(d3, d3)
    j += 32
  }
  while j + 8 <= count {
    let d0 = loadVector(x + j) - shiftV
    s0 += d0
    q0.addProduct(d0, d0)
    j += 8
  }
  var sum = horizontalSum((s0 + s1) + (s2 + s3)), squares = horizontalSum((q0 + q1) + (q2 + q3))
  while j < count {
    let d = x[j] - shift
    sum += d
    squares += d * d
    j += 1
  }
  return (sum, squares)
}

@inline(__always)
private func normalizeRow(
  _ x: UnsafePointer<Float>, count: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
  eps: Float, output: UnsafeMutablePointer<Float>
) {
  let n = Float(count)
  // Pass 1: a first mean. Pass 2: sums of d = x − μ₀ refine the mean and give
  // the variance without subtracting two large nearly equal numbers.
  let firstMean = rowSum(x, count: count) / n
  let (correction, squares) = rowDeviationSums(x, count: count, minus: firstMean)
  let meanCorrection = Double(correction) / Double(count)
  let variance = max(0, Double(squares) / Double(count) - meanCorrection * meanCorrection)
  let inverseDeviation = Float(1 / (variance + Double(eps)).squareRoot())
  // x − μ = (x − μ₀) − δ: the first difference is exact for rows whose values
  // sit near their mean (Sterbenz), and δ is small; rounding μ itself to Float
  // would cost up to half an ulp of the offset (5e-4 for rows near 1e4).
  let delta = Float(meanCorrection)
  let meanV = Float8(repeating: firstMean), deltaV = Float8(repeating: delta)
  let scaleV = Float8(repeating: inverseDeviation)
  var j = 0
  while j + 8 <= count {
    var y = ((loadVector(x + j) - meanV) - deltaV) * scaleV
    if let gamma { y *= loadVector(gamma + j) }
    if let beta { y += loadVector(beta + j) }
    storeVector(y, output + j)
    j += 8
  }
  while j < count {
    var y = ((x[j] - firstMean) - delta) * inverseDeviation
    if let gamma { y *= gamma[j] }
    if let beta { y += beta[j] }
    output[j] = y
    j += 1
  }
}
