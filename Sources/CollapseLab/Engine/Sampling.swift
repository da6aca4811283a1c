import RankKernels

/// Fills a weight matrix with iid entries of standard deviation `scale`.
func drawWeights(_ matrix: inout [Float], stream: RandomStream, scale: Float, distribution: WeightDistribution) {
  matrix.withUnsafeMutableBufferPointer { buffer in
    switch distribution {
    case .gaussian:
      stream.fillNormal(buffer.baseAddress!, count: buffer.count, standardDeviation: scale)
    case .uniform:
      stream.fillUniform(buffer.baseAddress!, count: buffer.count)
      let halfWidth = scale * Float(3.0.squareRoot())
      for i in buffer.indices { buffer[i] = (2 * buffer[i] - 1) * halfWidth }
    }
  }
}

/// The input token matrix X₀ (n × d) of a sample: the first layer's input,
/// HF's `hidden_states[0]`.
func sampleInput(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Float] {
  let n = c.sequenceLength, d = c.modelDimension
  func normals(_ count: Int, _ purpose: StreamPurpose, _ std: Float) -> [Float] {
    inputNormals(count, purpose, std, sample: sample, seed: seed)
  }
  if let r = c.inputRank {
    // Exactly rank r: G₁ (n×r) · G₂ (r×d) / √r, entries of unit variance.
    let left = normals(n * r, .input, 1), right = normals(r * d, .inputAuxiliary, 1 / Float(r).squareRoot())
    return project(left, rows: n, right, columns: d)
  }
  switch c.input {
  case .gaussian:
    return normals(n * d, .input, 1)
  case .bertEmbeddings, .embeddings:
    let tables = EmbeddingSample(sample: sample, configuration: c, seed: seed)
    return tables.hiddenStates(configuration: c)
  case .text, .randomTokens, .tokenIDs:
    preconditionFailure("token inputs come from a checkpoint's embeddings (CheckpointEngine), not from sampleInput")
  }
}

/// ``sampleInput(sample:configuration:seed:)`` in `x`'s storage: a Gaussian
/// input is drawn in place (no allocation when `x` has the size already).
func sampleInput(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, into x: inout [Float]) {
  guard c.inputRank == nil, c.input == .gaussian else { return assign(&x, from: sampleInput(sample: sample, configuration: c, seed: seed)) }
  resize(&x, count: c.sequenceLength * c.modelDimension)
  x.withUnsafeMutableBufferPointer {
    sampleStream(seed: seed, sample: sample, layer: 0, .input).fillNormal($0.baseAddress!, count: $0.count, standardDeviation: 1)
  }
}

/// `count` normals of standard deviation `std` from the input streams (layer 0) of a sample.
private func inputNormals(_ count: Int, _ purpose: StreamPurpose, _ std: Float, sample: UInt64, seed: UInt64) -> [Float] {
  var values = [Float](repeating: 0, count: count)
  values.withUnsafeMutableBufferPointer {
    sampleStream(seed: seed, sample: sample, layer: 0, purpose)
      .fillNormal($0.baseAddress!, count: count, standardDeviation: std)
  }
  return values
}

/// The embedding layer of one sample at initialisation (`--input embeddings`
/// or `bert-embeddings`): with n distinct token ids and positions 0…n−1, the
/// rows of the word and position tables that the sample uses are iid
/// N(0, σ²), so only those rows are drawn (exact in distribution).
///
/// `words` and `positions` are n × E, `tokenType` 1 × E (BERT/ALBERT), and
/// `projection` E × d (ALBERT). HF takes `words` as `inputs_embeds`.
struct EmbeddingSample {
  var words: [Float]
  var positions: [Float]?
  var tokenType: [Float]?
  var projection: [Float]?

  init(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) {
    let n = c.sequenceLength, e = c.embeddingSize
    // `bert-embeddings` keeps its historical σ = 0.02; `embeddings` is HF's initializer_range, --sigma.
    let scale: Float = c.input == .bertEmbeddings ? 0.02 : c.weightScale
    func normals(_ count: Int, _ purpose: StreamPurpose, _ std: Float) -> [Float] {
      inputNormals(count, purpose, std, sample: sample, seed: seed)
    }
    words = normals(n * e, .input, scale)
    positions = c.block.positions == .learned ? normals(n * e, .inputAuxiliary, scale) : nil
    tokenType = c.block.embeddingLayer == .bert ? normals(e, .inputShared, scale) : nil
    projection = c.block.embeddingSize != nil ? normals(e * c.modelDimension, .embeddingProjection, c.weightScale) : nil
  }

  /// X₀ = [project](norm(word + position + token type)).
  func hiddenStates(configuration c: ModelConfiguration) -> [Float] {
    let n = c.sequenceLength, e = c.embeddingSize
    var x = words
    if let positions { for i in 0..<(n * e) { x[i] = x[i] + positions[i] } }
    if let tokenType { for i in 0..<n { for j in 0..<e { x[i * e + j] += tokenType[j] } } }
    if c.block.embeddingLayer == .bert {
      // `bert-embeddings` keeps its historical ε; `embeddings` uses the block's, as HF's config does.
      let eps: Float = c.input == .bertEmbeddings ? 1e-12 : c.layerNormEpsilon
      applyLayerNorm(&x, rows: n, columns: e, gamma: nil, beta: nil, eps: eps)
    }
    if let projection { x = project(x, rows: n, projection, columns: c.modelDimension) }
    return x
  }
}
