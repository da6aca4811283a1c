import RankKernels

/// The engines' and the metrics' named per-thread work buffers: intermediates of the
/// per-sample path that never outlive the function that fills them, so that
/// a sample reuses the buffers of the one before instead of allocating.
///
/// Each function takes its own slots, so a function may call another that
/// uses scratch (`GramState.add` calls `bartlettFactors`) without either
/// overwriting the other's buffer; a function must not hold a slot across a
/// call of itself.
enum SampleScratchSlot: Int, CaseIterable {
  /// `bartlettFactors`: the normals above the diagonals and each chi variate's first tries.
  case bartlettOffDiagonal, bartlettTryNormals, bartlettTryUniforms
  /// `ProjectionOperand`: the Gram matrix of the rows it factors, and the
  /// Float64 pivoted Cholesky factor.
  case operandGram, choleskyLower
  /// The attention shortcut (`SketchProjector.attendedHeads`): F in token
  /// order, the score Gaussians, the key and value Bartlett factors, the
  /// score factors, the heads' queries, keys and values, the rows' entropies.
  case attentionFactor, scoreGaussians, keyFactors, valueFactors, scoreFactors
  case attentionQuery, attentionKey, attentionValue, attentionEntropies
  /// `GramState.add`: the drawn coordinates, the complement's Bartlett
  /// factor, the matrix M, the product, the current and next factors.
  case residualDraws, residualBartlett, residualMatrix, residualProduct, residualCoordinates, residualFactor
  /// `GramState.normalize`: the rows' scales.
  case normScales
  /// `GramState.withEntries`: [a | F] and X.
  case entryCoordinates, entries
  /// `measure`: the singular values; `affineRankFromGram`: the Gram
  /// matrix's row means and its centred form.
  case singularValues, affineRowMeans, affineCentredGram
  /// `SketchProjector.project`: the Gaussian factor G.
  case projectionGaussians
  /// `permuteRowsInPlace`: which rows are placed, and the carried and swapped rows.
  case permutationPlaced, permutationRows
  /// `feedForwardHidden(…into:)`: SwiGLU's gate product; the Gram engine's hidden layer.
  case feedForwardGate, feedForwardHidden
  /// The Gram engine's input (`GramState.drawGaussianInput`): its Bartlett
  /// factor and [a | F]; the sample's Haar frame, the Gaussian it comes
  /// from, and that Gaussian's Q and R.
  case inputBartlett, inputCoordinates, haarFrame, haarGaussian, haarQ, haarR
  /// `standardAttendedHeads`: Q, K, V, K and V widened to every query head
  /// (grouped-query heads), the mask, the rows' entropies.
  case standardQuery, standardKey, standardValue, standardRepeatedKey, standardRepeatedValue, attentionMask, standardEntropies
  /// `--attention-spectra`: the heads' probabilities, and one head's Gram
  /// matrix and eigenvalues (`AttentionStatistics`).
  case attentionProbabilities, attentionSpectrumGram, attentionSpectrumEigenvalues
}

typealias SampleScratch = WorkBuffers<SampleScratchSlot>

private let sampleScratch = ThreadLocal { SampleScratch() }

extension WorkBuffers where Slot == SampleScratchSlot {
  /// The calling thread's buffers.
  static var current: SampleScratch { sampleScratch.value }
}

/// Arrays for values that outlive the function that makes them but not the
/// layer: a factored operand's L and pivot order, which the products read
/// after `ProjectionOperand(factoring:rows:)` returns, and the attention
/// shortcut's T. Each factoring takes the next of `ringSize` slots per
/// thread and refills its arrays in place.
///
/// Copy-on-write keeps this safe whatever the lifetimes: when an operand
/// made from a slot is still alive as the ring comes round to it again, the
/// refill copies (an allocation, no aliasing). A layer has at most three
/// operands alive at once (the attention input's, the heads', the MLP's).
final class RecycledArrays {
  static let ringSize = 4
  private var lowers = [[Float]](repeating: [], count: ringSize)
  private var orders = [[Int]](repeating: [], count: ringSize)
  private var next = 0
  /// The attention shortcut's T, which the output product factors and drops.
  private var headOutputs = [[Float]](repeating: [], count: 2)
  private var nextHeadOutput = 0

  /// The calling thread's ring.
  static var current: RecycledArrays { recycledArrays.value }

  /// `fill` writes an n × n factor and its n-entry pivot order; returns the
  /// arrays and what `fill` returned.
  func factor(rows n: Int, _ fill: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int>) -> Int) -> (lower: [Float], order: [Int], result: Int) {
    let slot = next
    next = (next + 1) % Self.ringSize
    var lower = Self.take(&lowers[slot], count: n * n), order = Self.take(&orders[slot], count: n)
    let result = lower.withUnsafeMutableBufferPointer { l in order.withUnsafeMutableBufferPointer { fill(l.baseAddress!, $0.baseAddress!) } }
    lowers[slot] = lower
    orders[slot] = order
    return (lower, order, result)
  }

  /// An array of `count` floats that `fill` must write completely, for the
  /// heads' outputs before W_O: the attention shortcut's T or the explicit
  /// heads' (`standardAttendedHeads`); the next layer's reuses it.
  func headOutput(count: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    let slot = nextHeadOutput
    nextHeadOutput = (nextHeadOutput + 1) % headOutputs.count
    var output = Self.take(&headOutputs[slot], count: count)
    output.withUnsafeMutableBufferPointer { fill($0.baseAddress!) }
    headOutputs[slot] = output
    return output
  }

  /// The slot's array, moved out (so that it is unique unless an operand
  /// still holds it), or a new one when the size changed.
  private static func take<T: Numeric>(_ stored: inout [T], count: Int) -> [T] {
    var array: [T] = []
    swap(&array, &stored)
    return array.count == count ? array : [T](repeating: 0, count: count)
  }
}

private let recycledArrays = ThreadLocal { RecycledArrays() }
