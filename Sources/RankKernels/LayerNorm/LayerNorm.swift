/// Layer normalisation of each row of a row-major `rows × columns` matrix:
/// `output[i, j] = (x[i, j] − μ_i) / sqrt(σ²_i + eps) · gamma[j] + beta[j]`,
/// with μ_i and σ²_i the mean and (biased) variance of row i.
///
/// - Parameters:
///   - rows: rows normalised independently.
///   - columns: the normalised width.
///   - input: `rows × columns`, row stride `columns`.
///   - gamma: `columns` scales; nil means 1.
///   - beta: `columns` shifts; nil means 0.
///   - eps: added to the variance (BERT: 1e-12; ≥ 0).
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
  forEachRowRange(rows: rows, columns: columns, threads: threads) { range in
    normalizeRows(range, columns: columns, source: { input + $0 * columns }, gamma: gamma, beta: beta, eps: eps, output: output)
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
  forEachRowRange(rows: rows, columns: columns, threads: threads) { range in
    normalizeRows(
      range, columns: columns,
      source: { row in
        let h = sum.map { $0 + row * columns } ?? output + row * columns
        addVectors(input + row * columns, residual + row * columns, count: columns, into: h)
        return UnsafePointer(h)
      },
      gamma: gamma, beta: beta, eps: eps, output: output)
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
  forEachRowRange(rows: rows, columns: columns, threads: threads) { range in
    for row in range { body(row) }
  }
}

/// Runs `body(range)` on blocks of consecutive rows covering all of them,
/// spread over threads as ``forEachRowBlock(rows:columns:threads:_:)``.
@inline(__always)
internal func forEachRowRange(rows: Int, columns: Int, threads: Int, _ body: (Range<Int>) -> Void) {
  let usable = rows * columns < 1 << 16 ? 1 : threads
  let blocks = splitRange(rows, parts: usable * 4, granule: 1)
  parallelForEach(taskCount: blocks.count, threads: usable) { block in body(blocks[block]) }
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
  deviationSums(x, count: count, minus: shift, alongsideVector: { _ in }, alongsideScalar: { _ in })
}

/// Σ d and Σ d² for d = x − shift, calling `alongsideVector(j)` for each
/// 8-element block at j and `alongsideScalar(j)` for each element of the
/// tail in the same loop: LayerNorm writes the previous row there. One loop
/// for both uses, so the sums have one order, bit for bit. Each vector's
/// deviation is consumed before the block's other work: with the fused
/// writes, eight accumulators and four broadcast constants leave four
/// registers, and loading four vectors first made the compiler spill.
@inline(__always)
private func deviationSums(
  _ x: UnsafePointer<Float>, count: Int, minus shift: Float,
  alongsideVector: (Int) -> Void, alongsideScalar: (Int) -> Void
) -> (sum: Float, sumOfSquares: Float) {
  let shiftV = Float8(repeating: shift)
  var s0 = Float8(), s1 = Float8(), s2 = Float8(), s3 = Float8()
  var q0 = Float8(), q1 = Float8(), q2 = Float8(), q3 = Float8()
  @inline(__always) func step(_ k: Int, _ s: inout Float8, _ q: inout Float8) {
    let d = loadVector(x + k) - shiftV
    s += d
    q.addProduct(d, d)
    alongsideVector(k)
  }
  var j = 0
  while j &+ 32 <= count {
    step(j, &s0, &q0)
    step(j &+ 8, &s1, &q1)
    step(j &+ 16, &s2, &q2)
    step(j &+ 24, &s3, &q3)
    j &+= 32
  }
  while j &+ 8 <= count {
    step(j, &s0, &q0)
    j &+= 8
  }
  var sum = horizontalSum((s0 + s1) + (s2 + s3)), squares = horizontalSum((q0 + q1) + (q2 + q3))
  while j < count {
    let d = x[j] - shift
    sum += d
    squares += d * d
    alongsideScalar(j)
    j &+= 1
  }
  return (sum, squares)
}

/// How one row is normalised: y = ((x − shift) − delta)·scale, with
/// shift + delta the row's mean and scale 1/sqrt(variance + eps).
private struct RowNormalization {
  var shift: Float, delta: Float, scale: Float
}

/// Normalises the rows in `range` with one loop per row that writes row i
/// and sums row i + 1's deviations: a copy-like mix of a load stream and a
/// store stream, where separate statistics and output passes ran twice the
/// instructions' latency chains back to back (0.5–0.7 of a streaming copy).
/// `source(row)` gives a row's input (addLayerNorm forms it there); each row
/// is read before the row above it is written, so the output may alias the
/// input.
@inline(__always)
private func normalizeRows(
  _ range: Range<Int>, columns: Int, source: (Int) -> UnsafePointer<Float>,
  gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, output: UnsafeMutablePointer<Float>
) {
  guard !range.isEmpty else { return }
  var x = source(range.lowerBound)
  var shift = rowShift(x, count: columns)
  var normalization = rowNormalization(x, count: columns, shift: shift, sums: rowDeviationSums(x, count: columns, minus: shift), eps: eps)
  for row in range {
    let current = x, currentNormalization = normalization
    // The last row sums itself again, unused: one loop shape for all rows.
    let hasNext = row + 1 < range.upperBound
    if hasNext {
      x = source(row + 1)
      shift = rowShift(x, count: columns)
    }
    let sums = writeRow(
      current, count: columns, currentNormalization, gamma: gamma, beta: beta, output: output + row * columns,
      summing: x, minus: shift)
    if hasNext { normalization = rowNormalization(x, count: columns, shift: shift, sums: sums, eps: eps) }
  }
}

/// The shift the deviations are summed from: the mean of the row's first
/// (up to) eight values.
@inline(__always)
private func rowShift(_ x: UnsafePointer<Float>, count: Int) -> Float {
  rowMean(x, count: min(count, 8))
}

/// Mean and scale from Σd and Σd² for d = x − shift: the mean is shift + δ,
/// δ = Σd/n, and the variance V = Σd²/n − δ². The subtraction scales the
/// sums' rounding error η by at most 1 + k + 2√(k(1 + k)) for δ² = k·V:
/// typically k ≈ 1/8 (the shift sits within about σ/√8 of the mean), a
/// factor 1.9. Up to k = 1 (a factor 4.8: two bits of a Float32 variance
/// whose sums carry ~n/8 roundings) the one pass is kept; beyond it (a row
/// whose head is unrepresentative) a second pass from the refined mean is the
/// corrected two-pass algorithm, so rows like 1e4 + small noise keep the
/// noise's variance to Float32 accuracy either way. Until 0.3.3 the bound
/// was k = 1/4: one row in six of independent values then took the second
/// pass, about 3 % of the kernel's time at 4096×768 (PERF.md); at k = 1,
/// 0.4 % do.
@inline(__always)
private func rowNormalization(
  _ x: UnsafePointer<Float>, count: Int, shift firstShift: Float, sums: (sum: Float, sumOfSquares: Float), eps: Float
) -> RowNormalization {
  var shift = firstShift
  var (correction, squares) = sums
  var meanCorrection = Double(correction) / Double(count)
  var variance = Double(squares) / Double(count) - meanCorrection * meanCorrection
  if meanCorrection * meanCorrection > variance {
    shift += Float(meanCorrection)
    (correction, squares) = rowDeviationSums(x, count: count, minus: shift)
    meanCorrection = Double(correction) / Double(count)
    variance = Double(squares) / Double(count) - meanCorrection * meanCorrection
  }
  // x − μ = (x − shift) − δ: the first difference is exact for rows whose
  // values sit near their mean (Sterbenz), and δ is small; rounding μ itself
  // to Float would cost up to half an ulp of the offset (5e-4 near 1e4).
  return RowNormalization(
    shift: shift, delta: Float(meanCorrection), scale: Float(1 / (max(0, variance) + Double(eps)).squareRoot()))
}

/// Writes row `x` normalised and returns ``rowDeviationSums(_:count:minus:)``
/// of row `next` (the same sums, bit for bit, from the same loop).
@inline(__always)
private func writeRow(
  _ x: UnsafePointer<Float>, count: Int, _ n: RowNormalization, gamma: UnsafePointer<Float>?,
  beta: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, summing next: UnsafePointer<Float>, minus nextShift: Float
) -> (sum: Float, sumOfSquares: Float) {
  // One specialised loop per (gamma, beta) presence: the optional checks
  // inside the loop were not hoisted and cost a third of its instructions.
  let unused = x  // any valid pointer: not read when its flag is false
  switch (gamma, beta) {
  case let (gamma?, beta?):
    return writeNormalized(x, count: count, n, gamma: gamma, beta: beta, scales: true, shifts: true, output: output, summing: next, minus: nextShift)
  case let (gamma?, nil):
    return writeNormalized(x, count: count, n, gamma: gamma, beta: unused, scales: true, shifts: false, output: output, summing: next, minus: nextShift)
  case let (nil, beta?):
    return writeNormalized(x, count: count, n, gamma: unused, beta: beta, scales: false, shifts: true, output: output, summing: next, minus: nextShift)
  case (nil, nil):
    return writeNormalized(x, count: count, n, gamma: unused, beta: unused, scales: false, shifts: false, output: output, summing: next, minus: nextShift)
  }
}

/// output[j] = ((x[j] − shift) − delta)·scale·gamma[j] + beta[j] (each factor
/// only when its flag is set; the flags are literals at every call, so each
/// call compiles to its own branch-free loop), inside the loop that sums
/// `next`'s deviations (``deviationSums(_:count:minus:alongsideVector:alongsideScalar:)``).
@inline(__always)
private func writeNormalized(
  _ x: UnsafePointer<Float>, count: Int, _ n: RowNormalization,
  gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, scales: Bool, shifts: Bool,
  output: UnsafeMutablePointer<Float>, summing next: UnsafePointer<Float>, minus nextShift: Float
) -> (sum: Float, sumOfSquares: Float) {
  let shiftV = Float8(repeating: n.shift), deltaV = Float8(repeating: n.delta), scaleV = Float8(repeating: n.scale)
  @inline(__always) func normalized(_ j: Int) -> Float8 {
    let y = ((loadVector(x + j) - shiftV) - deltaV) * scaleV
    switch (scales, shifts) {
    case (true, true): return fma8(y, loadVector(gamma + j), loadVector(beta + j))
    case (true, false): return y * loadVector(gamma + j)
    case (false, true): return y + loadVector(beta + j)
    case (false, false): return y
    }
  }
  return deviationSums(
    next, count: count, minus: nextShift,
    alongsideVector: { j in storeVector(normalized(j), output + j) },
    alongsideScalar: { j in
      let y = ((x[j] - n.shift) - n.delta) * n.scale
      switch (scales, shifts) {
      case (true, true): output[j] = beta[j].addingProduct(y, gamma[j])
      case (true, false): output[j] = y * gamma[j]
      case (false, true): output[j] = y + beta[j]
      case (false, false): output[j] = y
      }
    })
}
