#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shape of a batched multi-head attention problem.
///
/// Q, K, V and the output are `[batch, sequenceLength, heads · headDimension]`
/// row-major tensors (the layout of a Transformer's projected activations):
/// head h of token i in batch b starts at `(b·sequenceLength + i)·heads·headDimension + h·headDimension`.
public struct AttentionShape: Sendable, Hashable {
  public var batch: Int
  public var sequenceLength: Int
  public var heads: Int
  public var headDimension: Int

  public init(batch: Int, sequenceLength: Int, heads: Int, headDimension: Int) {
    self.batch = batch
    self.sequenceLength = sequenceLength
    self.heads = heads
    self.headDimension = headDimension
  }

  /// heads · headDimension: the row stride of Q, K, V and the output.
  public var modelDimension: Int { heads * headDimension }
}

/// Block sizes of the fused attention kernel.
public enum AttentionTuning {
  /// Most query rows per task. A task packs each key block once and reuses it
  /// for all its rows, so larger blocks amortise the packing; 128 still gives
  /// BERT's 12 heads × batch enough tasks to balance two threads.
  public static let queryBlock = 128
  /// Keys per block of the online softmax. Per thread, the packed keys and
  /// values (keyBlock × headDimension floats each), one 6-row score strip
  /// (6 × keyBlock), a staging panel for a last strip of fewer than 6 rows
  /// (6 × max(keyBlock, headDimension)) and three numbers per query row of
  /// the task are the only buffers, so memory does not grow with the
  /// sequence length.
  public static let keyBlock = 256
  /// From this sequence length on, a task requests its thread's next task's
  /// K and V rows while it computes (`UpcomingKeys`). Shorter tasks finish before the
  /// requests pay off: at n = 16 they made attention 8 % slower; at n = 128
  /// they save 3–6 %.
  public static let prefetchFromSequenceLength = 64
}

/// Batched multi-head scaled dot-product attention:
/// `output_h = softmax(Q_h K_hᵀ · scale + mask) V_h` for every batch and head.
///
/// Fused with an online softmax (Milakov & Gimelshein 2018): keys are processed
/// in blocks of ``AttentionTuning/keyBlock``, keeping per-row running maxima and
/// sums, so no n×n matrix exists unless `probabilities` is requested. Logits are
/// shifted by the running row maximum, so ±1e4 logits stay finite.
///
/// - Parameters:
///   - shape: batch, sequence length, heads and head dimension.
///   - query: Q, `[batch, sequenceLength, heads·headDimension]`.
///   - key: K, the same layout.
///   - value: V, the same layout.
///   - mask: optional additive mask `[maskBatches, sequenceLength, sequenceLength]`
///     (query-major), shared by all heads. Use −inf (or a large negative value) to
///     exclude a key. A query row whose keys are all −inf yields NaN, as in PyTorch.
///   - maskBatchStride: batch b uses `mask + b·maskBatchStride` (0 broadcasts one mask).
///   - scale: multiplies the logits; nil means 1/√headDimension.
///   - output: `[batch, sequenceLength, heads·headDimension]`; must not alias inputs.
///   - probabilities: if non-nil, receives the attention matrices
///     `[batch, heads, sequenceLength, sequenceLength]` (costs a second pass
///     over the logits).
///   - rowEntropy: if non-nil, receives each attention row's entropy
///     −Σ_j p_j log p_j in nats, `[batch, heads, sequenceLength]`, computed in
///     the same pass without materialising p.
///   - threads: tasks are (batch, head, query block) triples; results do not
///     depend on the thread count.
public func multiHeadAttention(
  shape: AttentionShape,
  query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
  mask: UnsafePointer<Float>? = nil, maskBatchStride: Int = 0,
  scale: Float? = nil,
  output: UnsafeMutablePointer<Float>,
  probabilities: UnsafeMutablePointer<Float>? = nil,
  rowEntropy: UnsafeMutablePointer<Float>? = nil,
  threads: Int = 1
) {
  let kernel: StaticString = "multiHeadAttention"
  requireNonNegative(kernel, "batch", shape.batch)
  requireNonNegative(kernel, "sequenceLength", shape.sequenceLength)
  if shape.heads < 1 { invalidArgument(kernel, "heads must be >= 1, got heads = \(shape.heads)") }
  if shape.headDimension < 1 {
    invalidArgument(kernel, "headDimension must be >= 1, got headDimension = \(shape.headDimension)")
  }
  requireNonNegative(kernel, "maskBatchStride", maskBatchStride)
  if threads < 1 { invalidArgument(kernel, "threads must be >= 1, got threads = \(threads)") }
  let n = shape.sequenceLength
  if shape.batch == 0 || n == 0 { return }

  // Balanced query blocks, rounded to whole 6-row strips where n allows.
  let blockCount = (n + AttentionTuning.queryBlock - 1) / AttentionTuning.queryBlock
  let tileRows = GEMMMicroKernel.rows
  let rowsPerBlock = min(n, roundUp((n + blockCount - 1) / blockCount, toMultipleOf: tileRows))
  let queryBlocks = (n + rowsPerBlock - 1) / rowsPerBlock
  let taskCount = shape.batch * shape.heads * queryBlocks
  let logitScale = scale ?? 1 / Float(shape.headDimension).squareRoot()
  /// (batch, head, query rows) of a task.
  func decompose(_ task: Int) -> (batch: Int, head: Int, queryRows: Range<Int>) {
    let queryBlockIndex = task % queryBlocks
    return (
      task / (queryBlocks * shape.heads), (task / queryBlocks) % shape.heads,
      (queryBlockIndex * rowsPerBlock)..<min(n, (queryBlockIndex + 1) * rowsPerBlock)
    )
  }
  parallelForEachClaimingAhead(taskCount: taskCount, threads: min(threads, taskCount)) { task, next in
    let (batch, head, queryRows) = decompose(task)
    var upcoming: UpcomingKeys? = nil
    if let next, n >= AttentionTuning.prefetchFromSequenceLength {
      let (nextBatch, nextHead, _) = decompose(next)
      // The same head's keys are still cached when one block holds them all.
      let keysCached = nextBatch == batch && nextHead == head && n <= AttentionTuning.keyBlock
      if !keysCached { upcoming = UpcomingKeys(shape: shape, batch: nextBatch, head: nextHead, key: key, value: value) }
    }
    attentionTask(
      shape: shape, batch: batch, head: head, queryRows: queryRows,
      query: query, key: key, value: value,
      mask: mask.map { $0 + batch * maskBatchStride }, scale: logitScale,
      output: output, probabilities: probabilities, rowEntropy: rowEntropy, upcoming: upcoming)
  }
}

/// The K and V rows of a thread's next task's first key block, which that
/// task packs first. A head's rows are a model width apart, each in its own
/// page, where the hardware prefetchers do not follow, so without this every
/// row was an L3 miss while packing. The current task requests a slice of
/// them before each of its score tiles. (Requesting the next task's Q and
/// output rows as well measured 1–3 % slower at n = 128 and no different at
/// n = 512: those rows are read a strip at a time, and the prefetchers and
/// the store buffer keep up with that.)
private struct UpcomingKeys {
  let keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyCount: Int
  let stride: Int, headDimension: Int

  init(shape: AttentionShape, batch: Int, head: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
    let headOffset = batch * shape.sequenceLength * shape.modelDimension + head * shape.headDimension
    stride = shape.modelDimension
    headDimension = shape.headDimension
    keys = key + headOffset
    values = value + headOffset
    keyCount = min(shape.sequenceLength, AttentionTuning.keyBlock)
  }

  /// Requests rows `part·rowCount/parts ..< (part + 1)·rowCount/parts` of
  /// the K rows followed by the V rows.
  func request(part: Int, of parts: Int) {
    for index in (part * 2 * keyCount / parts)..<((part + 1) * 2 * keyCount / parts) {
      let row = index < keyCount ? keys + index * stride : values + (index - keyCount) * stride
      requestCacheLines(of: row, count: headDimension)
    }
  }
}

/// One (batch, head, query block), FlashAttention-style on the GEMM
/// micro-kernel: for each key block, the keys are packed once (transposed into
/// 16-key panels); then each 6-row strip of queries gets its 6 × keys scores
/// (query rows read in place), the online-softmax update, and its
/// contribution P·V (the strip read in place, V packed once per key block).
/// The strip (6 KiB) stays in L1 from the scores to the product, so the only
/// traffic beyond the inputs and output is the packed keys and values, once
/// per key block.
private func attentionTask(
  shape: AttentionShape, batch: Int, head: Int, queryRows: Range<Int>,
  query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
  mask: UnsafePointer<Float>?, scale: Float,
  output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>?,
  rowEntropy: UnsafeMutablePointer<Float>?, upcoming: UpcomingKeys?
) {
  let n = shape.sequenceLength, dk = shape.headDimension, stride = shape.modelDimension
  let tileRows = GEMMMicroKernel.rows, tileColumns = GEMMMicroKernel.columns
  assert(tileRows <= Float8.scalarCount, "the softmax update keeps a strip's rows in the lanes of one Float8")
  let rows = queryRows.count
  let keyBlock = min(AttentionTuning.keyBlock, n)
  let paddedKeyBlock = roundUp(keyBlock, toMultipleOf: tileColumns)
  let arena = ScratchArena.current
  let packedKeys = arena.buffer(.attentionPackedKeys, count: paddedKeyBlock * dk, of: Float.self)
  let strip = arena.buffer(.attentionScores, count: tileRows * paddedKeyBlock, of: Float.self)
  // A last strip of fewer than 6 rows packs its query rows, and then its
  // probability rows, as one micro-kernel A panel here, and runs the tile for
  // its row count (at n = 128 the last strip has 2 rows: a zero-padded 6-row
  // tile did three times its work).
  let stagedRows = arena.buffer(
    .attentionStagedRows, count: tileRows * max(dk, paddedKeyBlock), of: Float.self)
  let edgeTile = arena.buffer(.gemmEdgeTile, count: tileRows * tileColumns, of: Float.self)
  // V's block, packed as 16-column panels: read in place, its rows (one
  // model-width stride apart) map to a handful of L1 sets and are evicted
  // between strips; packed, the block stays in L1/L2 for all of them.
  let packedValues = arena.buffer(
    .attentionPackedValues, count: keyBlock * roundUp(dk, toMultipleOf: tileColumns), of: Float.self)
  // Per query row: running max m, running sum ℓ of exp(s − m), and running
  // Σ exp(s − m)·s for the entropy H = log ℓ + m − (Σ p s)/ℓ.
  let state = arena.buffer(.attentionRowState, count: 3 * rows, of: Float.self)
  let runningMax = state, runningSum = state + rows, runningDot = state + 2 * rows
  runningMax.update(repeating: -.infinity, count: rows)
  runningSum.update(repeating: 0, count: rows)
  runningDot.update(repeating: 0, count: rows)

  let headOffset = batch * n * stride + head * dk
  let q = query + headOffset + queryRows.lowerBound * stride
  let k = key + headOffset, v = value + headOffset
  let o = output + headOffset + queryRows.lowerBound * stride

  // Score tiles per task: one slice of the next task's rows is requested before each.
  let stripsPerBlock = (rows + tileRows - 1) / tileRows, panelCount = (n + tileColumns - 1) / tileColumns

  /// One tile of a strip product, C[0..<stripRows, 0..<16] = alpha·A·B + beta·C:
  /// a full strip's A rows read in place (`a`, `lda`); a strip of fewer
  /// than 6 rows reads the panel its caller packed into `stagedRows`.
  func stripTile(
    rows stripRows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if stripRows == tileRows {
      GEMMMicroKernel.tile6ReadingAInPlace(
        k: k, a: a, lda: lda, b: b, ldb: tileColumns, alpha: alpha, beta: beta, c: c, ldc: ldc)
    } else {
      GEMMMicroKernel.tile(
        dynamicRows: stripRows, k: k, packedA: stagedRows, packedB: b, alpha: alpha, beta: beta, c: c, ldc: ldc)
    }
  }

  /// Packs keys `keys` as 16-key panels of depth dk (zero-padded).
  func packKeys(_ keys: Range<Int>) {
    packB(transposed: true, b: k + keys.lowerBound * stride, ldb: stride, kc: dk, nc: keys.count, into: packedKeys)
  }

  /// strip[r, j] = scale · q_(first+r) · k_j + mask for the strip's rows and
  /// the packed keys `keys`; returns the strip's row stride.
  /// With `requestingUpcoming`, each panel's tile is preceded by the
  /// request of one slice of the next task's K and V rows (see
  /// `UpcomingKeys`): a few lines per tile rather than a burst.
  func computeScoreStrip(first: Int, count stripRows: Int, keys: Range<Int>, requestingUpcoming: Bool = false) -> Int {
    let stripStride = roundUp(keys.count, toMultipleOf: tileColumns)
    let queries = UnsafePointer(q + first * stride)
    if stripRows < tileRows {
      packA(transposed: false, a: queries, lda: stride, mc: stripRows, kc: dk, into: stagedRows)
    }
    var panel = 0
    while panel * tileColumns < keys.count {
      let keyPanel = packedKeys + panel * tileColumns * dk, scores = strip + panel * tileColumns
      if requestingUpcoming, let upcoming {
        let slice = (first / tileRows) * panelCount + (keys.lowerBound / tileColumns + panel)
        upcoming.request(part: slice, of: stripsPerBlock * panelCount)
      }
      stripTile(
        rows: stripRows, k: dk, a: queries, lda: stride, b: keyPanel, alpha: scale, beta: 0, c: scores,
        ldc: stripStride)
      panel += 1
    }
    if let mask {
      for r in 0..<stripRows {
        let maskRow = mask + (queryRows.lowerBound + first + r) * n + keys.lowerBound
        let scoreRow = strip + r * stripStride
        var j = 0
        while j + 8 <= keys.count {
          storeVector(loadVector(scoreRow + j) + loadVector(maskRow + j), scoreRow + j)
          j += 8
        }
        while j < keys.count { scoreRow[j] += maskRow[j]; j += 1 }
      }
    }
    return stripStride
  }

  /// o[first..<first+stripRows] (+)= strip · V[keys] (overwrites on the first key block).
  func accumulateOutput(first: Int, count stripRows: Int, keys: Range<Int>, stripStride: Int) {
    let beta: Float = keys.lowerBound == 0 ? 0 : 1
    if stripRows < tileRows {
      packA(transposed: false, a: strip, lda: stripStride, mc: stripRows, kc: keys.count, into: stagedRows)
    }
    var column = 0
    while column < dk {
      let columns = min(tileColumns, dk - column)
      let values = UnsafePointer(packedValues + column * keys.count)
      let target = o + first * stride + column
      if columns == tileColumns {
        stripTile(
          rows: stripRows, k: keys.count, a: strip, lda: stripStride, b: values, alpha: 1, beta: beta, c: target,
          ldc: stride)
      } else {
        stripTile(
          rows: stripRows, k: keys.count, a: strip, lda: stripStride, b: values, alpha: 1, beta: 0, c: edgeTile,
          ldc: tileColumns)
        mergeEdgeTile(edgeTile, rows: stripRows, columns: columns, beta: beta, into: target, ldc: stride)
      }
      column += tileColumns
    }
  }

  /// The online-softmax update for one strip: each row's running maximum
  /// m, sum ℓ and entropy dot product take in the block's logits, and the
  /// strip's logits become exp(s − m_new). Returns, lane per row, the factor
  /// exp(m_old − m_new) by which the row's earlier output must be rescaled
  /// (0 on the first block). Done in phases across the rows (all maxima,
  /// then all exponentials) rather than row by row, so the rows' reductions
  /// overlap instead of forming one dependent chain a row.
  func updateRowStatistics(first: Int, count stripRows: Int, width: Int, stripStride: Int, isFirstBlock: Bool)
    -> Float8
  {
    var oldMax = Float8(repeating: 0), newMax = Float8(repeating: 0)
    for r in 0..<stripRows {
      oldMax[r] = runningMax[first + r]
      newMax[r] = max(oldMax[r], rowMaximum(strip + r * stripStride, count: width))
    }
    // A row whose keys so far are all −inf (masked) keeps m = −inf, ℓ = 0 and
    // a zero output; shifting its logits by 0 instead of −inf keeps −inf − m
    // from becoming NaN, so keys unmasked in a later block still count.
    let nothingYet = newMax .== -.infinity
    let rescale = isFirstBlock ? Float8(repeating: 0) : expNonPositive8(oldMax - newMax).replacing(with: 0, where: nothingYet)
    let shift = newMax.replacing(with: 0, where: nothingYet)
    for r in 0..<stripRows {
      let row = strip + r * stripStride, state = first + r
      var dot: Float = 0, blockSum: Float
      if rowEntropy != nil {
        (blockSum, dot) = exponentiateShiftedWeighingLogits(row, count: width, shift: shift[r])
      } else {
        blockSum = exponentiateShifted(row, count: width, shift: shift[r])
      }
      runningSum[state] = runningSum[state] * rescale[r] + blockSum
      runningDot[state] = runningDot[state] * rescale[r] + dot
      runningMax[state] = newMax[r]
    }
    return rescale
  }

  /// 1/ℓ for the strip's rows, lane per row.
  func inverseRunningSums(first: Int, count stripRows: Int) -> Float8 {
    var sums = Float8(repeating: 1)
    for r in 0..<stripRows { sums[r] = runningSum[first + r] }
    return 1 / sums
  }

  /// A whole head at n = 16 on AVX-512 (the sampling engines' heads at the
  /// main job's 16 tokens): all 16 query rows in one 16-row tile per
  /// product, where three 6-, 6- and 4-row strips each packed, tiled and
  /// reduced on their own (at 16 tokens a head's arithmetic is a tenth of
  /// the time it took). Each element's arithmetic is the strips': the same
  /// score and output tiles' FMA chains, the same row functions for the
  /// maximum, the exponentials, the entropy dot product and the
  /// normalisation, in the same order; one key block, so no rescaling.
  func sixteenTokenHead() {
    let width = n
    packKeys(0..<n)
    packB(transposed: false, b: v, ldb: stride, kc: width, nc: dk, into: packedValues)
    let scores = arena.buffer(.attentionScores, count: n * n, of: Float.self)
    GEMMMicroKernel.wideTileReadingAInPlace(
      rows: 16, k: dk, a: q, lda: stride, b: packedKeys, ldb: tileColumns, alpha: scale, beta: 0, c: scores, ldc: n)
    for r in 0..<rows {
      let row = scores + r * n
      if let mask {
        let maskRow = mask + (queryRows.lowerBound + r) * n
        for j in 0..<width { row[j] += maskRow[j] }
      }
      let rowMax = max(-Float.infinity, rowMaximum(row, count: width))
      let shift = rowMax == -.infinity ? 0 : rowMax
      if rowEntropy != nil {
        (runningSum[r], runningDot[r]) = exponentiateShiftedWeighingLogits(row, count: width, shift: shift)
      } else {
        (runningSum[r], runningDot[r]) = (exponentiateShifted(row, count: width, shift: shift), 0)
      }
      runningMax[r] = rowMax
    }
    // As the strips: normalise the probabilities before P·V or the outputs
    // after it, whichever rows are narrower.
    let normalisesProbabilities = width < dk
    if normalisesProbabilities {
      for r in 0..<rows { scaleRow(scores + r * n, count: width, by: 1 / runningSum[r]) }
    }
    var column = 0
    while column < dk {
      GEMMMicroKernel.wideTileReadingAInPlace(
        rows: 16, k: width, a: scores, lda: n, b: packedValues + column * width, ldb: tileColumns, alpha: 1, beta: 0,
        c: o + column, ldc: stride)
      column += tileColumns
    }
    if !normalisesProbabilities {
      for r in 0..<rows { scaleRow(o + r * stride, count: dk, by: 1 / runningSum[r]) }
    }
  }

  var keyStart = 0
  if n == 16 && rows == n && keyBlock == n && dk % tileColumns == 0 && probabilities == nil
    && GEMMMicroKernel.hasTwelveRowTile
  {
    sixteenTokenHead()
    keyStart = n  // the loop below has nothing left to do
  }
  while keyStart < n {
    let keys = keyStart..<min(n, keyStart + keyBlock)
    let width = keys.count
    let isLastBlock = keys.upperBound == n
    // The block's value rows are first touched here (from L3: a head's K and V
    // are 2 × 32 KiB at n = 128). Requesting them before packing the keys
    // overlaps their misses with the keys' instead of paying both in turn.
    for j in keys { requestCacheLines(of: v + j * stride, count: dk) }
    packKeys(keys)
    packB(transposed: false, b: v + keys.lowerBound * stride, ldb: stride, kc: width, nc: dk, into: packedValues)
    for first in Swift.stride(from: 0, to: rows, by: tileRows) {
      let stripRows = min(tileRows, rows - first)
      let stripStride = computeScoreStrip(first: first, count: stripRows, keys: keys, requestingUpcoming: true)
      let rescale = updateRowStatistics(
        first: first, count: stripRows, width: width, stripStride: stripStride, isFirstBlock: keyStart == 0)
      if keyStart > 0 {
        for r in 0..<stripRows { scaleRow(o + (first + r) * stride, count: dk, by: rescale[r]) }
      }
      // On the last block the sums are final: normalise while the strip is in
      // L1, not in a pass over all output rows at the end (by then in L2: 9 %
      // of the time at n = 128). Either the probabilities before P·V (width
      // numbers a row) or the output rows after it (d_k), whichever is
      // narrower; the probabilities only when no earlier block wrote output.
      let normalisesProbabilities = isLastBlock && keyStart == 0 && width < dk
      if normalisesProbabilities {
        let inverseSums = inverseRunningSums(first: first, count: stripRows)
        for r in 0..<stripRows { scaleRow(strip + r * stripStride, count: width, by: inverseSums[r]) }
      }
      accumulateOutput(first: first, count: stripRows, keys: keys, stripStride: stripStride)
      if isLastBlock && !normalisesProbabilities {
        let inverseSums = inverseRunningSums(first: first, count: stripRows)
        for r in 0..<stripRows { scaleRow(o + (first + r) * stride, count: dk, by: inverseSums[r]) }
      }
    }
    keyStart += keyBlock
  }

  if let rowEntropy {
    let entropy = rowEntropy + (batch * shape.heads + head) * n + queryRows.lowerBound
    for r in 0..<rows {
      entropy[r] = logf(runningSum[r]) + runningMax[r] - runningDot[r] / runningSum[r]
    }
  }
  if let probabilities {
    // Second pass: with the final max and sum known, write exact probabilities.
    let matrix = probabilities + (batch * shape.heads + head) * n * n + queryRows.lowerBound * n
    keyStart = 0
    while keyStart < n {
      let keys = keyStart..<min(n, keyStart + keyBlock)
      packKeys(keys)
      for first in Swift.stride(from: 0, to: rows, by: tileRows) {
        let stripRows = min(tileRows, rows - first)
        let stripStride = computeScoreStrip(first: first, count: stripRows, keys: keys)
        for r in 0..<stripRows {
          let row = strip + r * stripStride
          _ = exponentiateShifted(row, count: keys.count, shift: runningMax[first + r])
          scaleRow(row, count: keys.count, by: 1 / runningSum[first + r])
          (matrix + (first + r) * n + keys.lowerBound).update(from: row, count: keys.count)
        }
      }
      keyStart += keyBlock
    }
  }
}

/// s[j] ← exp(s[j] − shift) as `exponentiateShifted` does it, returning
/// Σ_j exp(s_j − shift) and the entropy's Σ_j exp(s_j − shift)·s_j, where
/// terms with exp(·) = 0 contribute 0 (so −inf logits do not turn the sum
/// into NaN through 0·(−inf)). One exponential per logit for both sums (they
/// were two passes, each with its own); the lanes and their order are
/// `exponentiateShifted`'s, so the sum is the same to the bit.
@inline(__always)
private func exponentiateShiftedWeighingLogits(_ s: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> (sum: Float, dot: Float) {
  let shiftV = Float8(repeating: shift)
  var sum = Float8(), dot = Float8()
  @inline(__always) func accumulate(_ logits: Float8) -> Float8 {
    let weights = expNonPositive8(logits - shiftV)
    dot += (weights * logits).replacing(with: 0, where: weights .== 0)
    sum += weights
    return weights
  }
  var j = 0
  while j + 8 <= count {
    storeVector(accumulate(loadVector(s + j)), s + j)
    j += 8
  }
  if j < count {
    var tail = Float8(repeating: -.infinity)
    for lane in 0..<(count - j) { tail[lane] = s[j + lane] }
    let weights = accumulate(tail)
    for lane in 0..<(count - j) { s[j + lane] = weights[lane] }
  }
  return (horizontalSum(sum), horizontalSum(dot))
}
