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
  /// Query rows per task (and per score block).
  public static let queryBlock = 64
  /// Keys per score block: the score buffer is queryBlock × keyBlock floats
  /// (64 KiB), so memory is O(n) however long the sequence.
  public static let keyBlock = 256
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
///   - query, key, value: `[batch, sequenceLength, heads·headDimension]`.
///   - mask: optional additive mask `[maskBatches, sequenceLength, sequenceLength]`
///     (query-major), shared by all heads; batch b uses `mask + b·maskBatchStride`
///     (pass 0 to broadcast one mask). Use −inf (or a large negative value) to
///     exclude a key. A query row whose keys are all −inf yields NaN, as in PyTorch.
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

  let queryBlocks = (n + AttentionTuning.queryBlock - 1) / AttentionTuning.queryBlock
  let taskCount = shape.batch * shape.heads * queryBlocks
  let logitScale = scale ?? 1 / Float(shape.headDimension).squareRoot()
  parallelForEach(taskCount: taskCount, threads: min(threads, taskCount)) { task in
    let queryBlockIndex = task % queryBlocks
    let head = (task / queryBlocks) % shape.heads
    let batch = task / (queryBlocks * shape.heads)
    attentionTask(
      shape: shape, batch: batch, head: head,
      queryRows: (queryBlockIndex * AttentionTuning.queryBlock)..<min(n, (queryBlockIndex + 1) * AttentionTuning.queryBlock),
      query: query, key: key, value: value,
      mask: mask.map { $0 + batch * maskBatchStride }, scale: logitScale,
      output: output, probabilities: probabilities, rowEntropy: rowEntropy)
  }
}

/// One (batch, head, query block): streams over key blocks with an online softmax.
private func attentionTask(
  shape: AttentionShape, batch: Int, head: Int, queryRows: Range<Int>,
  query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
  mask: UnsafePointer<Float>?, scale: Float,
  output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>?,
  rowEntropy: UnsafeMutablePointer<Float>?
) {
  let n = shape.sequenceLength, dk = shape.headDimension, stride = shape.modelDimension
  let rows = queryRows.count
  let keyBlock = min(AttentionTuning.keyBlock, n)
  let arena = ScratchArena.current
  let scores = arena.buffer(.attentionScores, count: rows * keyBlock, of: Float.self)
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

  /// scores = Q_blk · K_blkᵀ · scale + mask for keys `keys`.
  func computeScores(keys: Range<Int>) {
    swiftSGEMM(
      transA: .noTranspose, transB: .transpose, m: rows, n: keys.count, k: dk, alpha: scale,
      a: q, lda: stride, b: k + keys.lowerBound * stride, ldb: stride,
      beta: 0, c: scores, ldc: keys.count, threads: 1)
    if let mask {
      for r in 0..<rows {
        let maskRow = mask + (queryRows.lowerBound + r) * n + keys.lowerBound
        let scoreRow = scores + r * keys.count
        var j = 0
        while j + 8 <= keys.count {
          storeVector(loadVector(scoreRow + j) + loadVector(maskRow + j), scoreRow + j)
          j += 8
        }
        while j < keys.count { scoreRow[j] += maskRow[j]; j += 1 }
      }
    }
  }

  var keyStart = 0
  while keyStart < n {
    let keys = keyStart..<min(n, keyStart + keyBlock)
    let width = keys.count
    computeScores(keys: keys)
    for r in 0..<rows {
      let row = scores + r * width
      let blockMax = rowMaximum(UnsafePointer(row), count: width)
      let newMax = max(runningMax[r], blockMax)
      // exp(−inf − finite) = 0 rescales nothing on the first block.
      let rescale = expf(runningMax[r] - newMax)
      var dot: Float = 0
      if rowEntropy != nil { dot = probabilityWeightedLogits(row, count: width, shift: newMax) }
      let blockSum = exponentiateShifted(row, count: width, shift: newMax)
      runningSum[r] = runningSum[r] * rescale + blockSum
      runningDot[r] = runningDot[r] * rescale + dot
      runningMax[r] = newMax
      if keyStart > 0 { scaleRow(o + r * stride, count: dk, by: rescale) }
    }
    // O_blk (+)= P_blk · V_blk, accumulated in place in the output rows.
    swiftSGEMM(
      transA: .noTranspose, transB: .noTranspose, m: rows, n: dk, k: width, alpha: 1,
      a: scores, lda: width, b: v + keys.lowerBound * stride, ldb: stride,
      beta: keyStart == 0 ? 0 : 1, c: o, ldc: stride, threads: 1)
    keyStart += keyBlock
  }
  for r in 0..<rows { scaleRow(o + r * stride, count: dk, by: 1 / runningSum[r]) }

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
      computeScores(keys: keys)
      for r in 0..<rows {
        let row = scores + r * keys.count
        _ = exponentiateShifted(row, count: keys.count, shift: runningMax[r])
        scaleRow(row, count: keys.count, by: 1 / runningSum[r])
        (matrix + r * n + keys.lowerBound).update(from: row, count: keys.count)
      }
      keyStart += keyBlock
    }
  }
}

/// Σ_j exp(s_j − shift)·s_j, where terms with exp(·) = 0 contribute 0 (so −inf
/// logits do not turn the sum into NaN through 0·(−inf)).
@inline(__always)
private func probabilityWeightedLogits(_ s: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
  let shiftV = Float8(repeating: shift)
  var total = Float8()
  var j = 0
  @inline(__always) func accumulate(_ logits: Float8) {
    let weights = exp8(logits - shiftV)
    total += (weights * logits).replacing(with: 0, where: weights .== 0)
  }
  while j + 8 <= count { accumulate(loadVector(s + j)); j += 8 }
  if j < count {
    var tail = Float8(repeating: -.infinity)
    for lane in 0..<(count - j) { tail[lane] = s[j + lane] }
    accumulate(tail)
  }
  return horizontalSum(total)
}
