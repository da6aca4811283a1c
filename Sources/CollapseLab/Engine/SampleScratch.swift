import RankKernels

/// The engines' named per-thread work buffers: intermediates of the
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
  /// `ProjectionOperand.factor`: the Float64 pivoted Cholesky factor.
  case choleskyLower
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
  /// `GramState.entries`: [a | F] and X.
  case entryCoordinates, entries
}

typealias SampleScratch = WorkBuffers<SampleScratchSlot>

private let sampleScratch = ThreadLocal { SampleScratch() }

extension WorkBuffers where Slot == SampleScratchSlot {
  /// The calling thread's buffers.
  static var current: SampleScratch { sampleScratch.value }
}
