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
/// Accuracy: the statistics come from sums of x − shift, with the shift near
/// the mean (refined by a second pass, the "corrected two-pass" algorithm,
/// whenever it is not), so rows like 1e4 + small noise keep the noise's
/// variance to Float32 accuracy instead of losing it to cancellation. Two
/// passes over each row in all: statistics, then the normalised output.
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

/// The mean of a row's first `count` (≤ 8) values.
@inline(__always)
private func rowMean(_ x: UnsafePointer<Float>, count: Int) -> Float {
  var sum: Float = 0
  for j in 0..<count { sum += x[j] }
  return sum / Float(count)
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
  // Sums of d = x − shift give the mean (shift + δ, δ = Σd/n) and the
  // variance (Σd²/n − δ²) in one pass. The shift, the mean of the first
  // eight values, sits within about σ/√8 of the mean, so δ² is about 1/8 of
  // the variance and the subtraction costs ~0.1 bit. When it does not (a row
  // whose head is unrepresentative, δ² > variance/4), a second pass from the
  // refined mean is the corrected two-pass algorithm: rows like 1e4 + small
  // noise keep the noise's variance to Float32 accuracy either way.
  var shift = rowMean(x, count: min(count, 8))
  var (correction, squares) = rowDeviationSums(x, count: count, minus: shift)
  var meanCorrection = Double(correction) / Double(count)
  var variance = Double(squares) / Double(count) - meanCorrection * meanCorrection
  if meanCorrection * meanCorrection > 0.25 * variance {
    shift += Float(meanCorrection)
    (correction, squares) = rowDeviationSums(x, count: count, minus: shift)
    meanCorrection = Double(correction) / Double(count)
    variance = Double(squares) / Double(count) - meanCorrection * meanCorrection
  }
  let inverseDeviation = Float(1 / (max(0, variance) + Double(eps)).squareRoot())
  // x − μ = (x − shift) − δ: the first difference is exact for rows whose
  // values sit near their mean (Sterbenz), and δ is small; rounding μ itself
  // to Float would cost up to half an ulp of the offset (5e-4 near 1e4).
  let firstMean = shift
  let delta = Float(meanCorrection)
  // One specialised loop per (gamma, beta) presence: the optional checks
  // inside the loop were not hoisted and cost a third of its instructions.
  let unused = x  // any valid pointer: not read when its flag is false
  switch (gamma, beta) {
  case let (gamma?, beta?):
    writeNormalized(x, count: count, shift: firstMean, delta: delta, scale: inverseDeviation, gamma: gamma, beta: beta, scales: true, shifts: true, output: output)
  case let (gamma?, nil):
    writeNormalized(x, count: count, shift: firstMean, delta: delta, scale: inverseDeviation, gamma: gamma, beta: unused, scales: true, shifts: false, output: output)
  case let (nil, beta?):
    writeNormalized(x, count: count, shift: firstMean, delta: delta, scale: inverseDeviation, gamma: unused, beta: beta, scales: false, shifts: true, output: output)
  case (nil, nil):
    writeNormalized(x, count: count, shift: firstMean, delta: delta, scale: inverseDeviation, gamma: unused, beta: unused, scales: false, shifts: false, output: output)
  }
}

/// output[j] = ((x[j] − shift) − delta)·scale·gamma[j] + beta[j] (each factor
/// only when its flag is set; the flags are literals at every call, so each
/// call compiles to its own branch-free loop), four vectors per iteration.
@inline(__always)
private func writeNormalized(
  _ x: UnsafePointer<Float>, count: Int, shift: Float, delta: Float, scale: Float,
  gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, scales: Bool, shifts: Bool,
  output: UnsafeMutablePointer<Float>
) {
  let shiftV = Float8(repeating: shift), deltaV = Float8(repeating: delta), scaleV = Float8(repeating: scale)
  @inline(__always) func normalized(_ j: Int) -> Float8 {
    let y = ((loadVector(x + j) - shiftV) - deltaV) * scaleV
    switch (scales, shifts) {
    case (true, true): return fma8(y, loadVector(gamma + j), loadVector(beta + j))
    case (true, false): return y * loadVector(gamma + j)
    case (false, true): return y + loadVector(beta + j)
    case (false, false): return y
    }
  }
  var j = 0
  while j &+ 32 <= count {
    let a = normalized(j), b = normalized(j &+ 8), c = normalized(j &+ 16), d = normalized(j &+ 24)
    storeVector(a, output + j); storeVector(b, output + (j &+ 8))
    storeVector(c, output + (j &+ 16)); storeVector(d, output + (j &+ 24))
    j &+= 32
  }
  while j &+ 8 <= count {
    storeVector(normalized(j), output + j)
    j &+= 8
  }
  while j < count {
    let y = ((x[j] - shift) - delta) * scale
    switch (scales, shifts) {
    case (true, true): output[j] = beta[j].addingProduct(y, gamma[j])
    case (true, false): output[j] = y * gamma[j]
    case (false, true): output[j] = y + beta[j]
    case (false, false): output[j] = y
    }
    j &+= 1
  }
}
