import RankKernels

/// Fills a weight matrix with iid entries of the configured distribution.
func drawWeights(_ matrix: inout [Float], stream: RandomStream, configuration c: ModelConfiguration) {
  matrix.withUnsafeMutableBufferPointer { buffer in
    switch c.weightDistribution {
    case .gaussian:
      stream.fillNormal(buffer.baseAddress!, count: buffer.count, standardDeviation: c.weightScale)
    case .uniform:
      stream.fillUniform(buffer.baseAddress!, count: buffer.count)
      let halfWidth = c.weightScale * Float(3.0.squareRoot())
      for i in buffer.indices { buffer[i] = (2 * buffer[i] - 1) * halfWidth }
    }
  }
}


/// The input token matrix X₀ (n × d) of a sample.
func sampleInput(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Float] {
  let n = c.sequenceLength, d = c.modelDimension
  func normals(_ count: Int, _ purpose: StreamPurpose, _ std: Float) -> [Float] {
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBufferPointer {
      sampleStream(seed: seed, sample: sample, layer: 0, purpose)
        .fillNormal($0.baseAddress!, count: count, standardDeviation: std)
    }
    return values
  }
  if let r = c.inputRank {
    // Exactly rank r: G₁ (n×r) · G₂ (r×d) / √r, entries of unit variance.
    let left = normals(n * r, .input, 1), right = normals(r * d, .inputAuxiliary, 1 / Float(r).squareRoot())
    return project(left, rows: n, right, columns: d)
  }
  switch c.input {
  case .gaussian:
    return normals(n * d, .input, 1)
  case .bertEmbeddings:
    let words = normals(n * d, .input, 0.02), positions = normals(n * d, .inputAuxiliary, 0.02)
    let tokenType = normals(d, .inputShared, 0.02)
    var x = [Float](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { x[i * d + j] = words[i * d + j] + positions[i * d + j] + tokenType[j] } }
    applyLayerNorm(&x, rows: n, columns: d, gamma: nil, beta: nil, eps: 1e-12)
    return x
  case .text, .randomTokens:
    preconditionFailure("token inputs come from a checkpoint's embeddings (CheckpointEngine), not from sampleInput")
  }
}
