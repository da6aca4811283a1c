import RankKernels

/// One layer's parameters, redrawn in place for each (sample, layer).
///
/// Matrices are row-major [in × out] (y = x·W + b): query and output d × d,
/// key and value d × H_kv·d_k, feedForwardIn (W_up) and feedForwardGate d × d_ff,
/// feedForwardOut d_ff × d. Norm parameters nil mean γ = 1, β = 0 (RMSNorm has no β).
final class LayerWeights {
  var query, key, value, output: [Float]
  var feedForwardIn, feedForwardOut: [Float]
  /// SwiGLU's W_gate, d × d_ff (empty unless the MLP is gated).
  var feedForwardGate: [Float] = []
  /// PG-OP's gate weights, d × H (empty unless drawn).
  var gate: [Float] = []
  var biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardIn, biasFeedForwardOut, biasGate: [Float]?
  var biasFeedForwardGate: [Float]?
  var gamma1, beta1, gamma2, beta2: [Float]?
  /// The weight group last drawn (shared layers draw once per group).
  private var drawnGroup: (sample: UInt64, group: Int)?

  init(modelDimension d: Int, feedForwardDimension dff: Int) {
    query = [Float](repeating: 0, count: d * d); key = query; value = query; output = query
    feedForwardIn = [Float](repeating: 0, count: d * dff); feedForwardOut = feedForwardIn
  }

  /// Forgets which weight group was drawn last, so that the next `draw`
  /// draws: for an instance reused across samples and configurations.
  func forgetDrawnGroup() { drawnGroup = nil }

  /// Draws the parameters of layer `layer` (1-based); the weight matrices only
  /// if `includeMatrices` (the sketch engine never materialises them), the
  /// MLP's and the PG-OP gates' only if some variant has them.
  ///
  /// Every quantity comes from the streams of (sample, weight layer), the
  /// weight layer being the layer itself, or its group's first layer number
  /// (group + 1) when layers are shared: shared layers get the same numbers,
  /// and are drawn once per sample.
  func draw(sample: UInt64, layer: Int, configuration c: ModelConfiguration, seed: UInt64, includeMatrices: Bool, includeMLP: Bool) {
    let group = c.block.weightGroup(ofLayer: layer, layers: c.layers)
    if c.block.sharedLayerGroups != nil, let drawn = drawnGroup, drawn == (sample, group) { return }
    drawnGroup = (sample, group)
    let streamLayer = group + 1
    let d = c.modelDimension, dff = c.feedForwardDimension, kv = c.keyValueWidth
    let gated = c.activation == .swiglu
    let needsGates = c.variants.contains { $0.positionGates }
    func fill(_ matrix: inout [Float], count: Int, _ purpose: StreamPurpose) {
      if matrix.count != count { matrix = [Float](repeating: 0, count: count) }
      drawWeights(
        &matrix, stream: sampleStream(seed: seed, sample: sample, layer: streamLayer, purpose),
        scale: c.weightScale(for: purpose), distribution: c.weightDistribution)
    }
    if includeMatrices {
      fill(&query, count: d * d, .query); fill(&key, count: d * kv, .key); fill(&value, count: d * kv, .value)
      fill(&output, count: d * d, .output)
      if includeMLP {
        fill(&feedForwardIn, count: d * dff, .feedForwardIn); fill(&feedForwardOut, count: dff * d, .feedForwardOut)
        if gated { fill(&feedForwardGate, count: d * dff, .feedForwardGate) }
      }
      if needsGates { fill(&gate, count: d * c.heads, .gates) }
    }
    func normals(_ count: Int, _ purpose: StreamPurpose) -> [Float] {
      var values = [Float](repeating: 0, count: count)
      values.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: streamLayer, purpose)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      return values
    }
    // Parameters this configuration does not draw are reset: the instance
    // may have served another configuration on this thread.
    biasGate = needsGates && c.randomBiases ? normals(c.heads, .gateBiases) : nil
    (biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardOut, biasFeedForwardIn, biasFeedForwardGate) = (nil, nil, nil, nil, nil, nil, nil)
    (gamma1, beta1, gamma2, beta2) = (nil, nil, nil, nil)
    if c.randomBiases {
      // q, k, v, o, MLP out, MLP in (W_up), then W_gate's: BERT's layout when H_kv = H.
      let all = normals(2 * d + 2 * kv + d + dff + (gated ? dff : 0), .biases)
      var offset = 0
      func take(_ count: Int) -> [Float] {
        defer { offset += count }
        return Array(all[offset..<(offset + count)])
      }
      biasQuery = take(d); biasKey = take(kv); biasValue = take(kv); biasOutput = take(d)
      biasFeedForwardOut = take(d); biasFeedForwardIn = take(dff)
      biasFeedForwardGate = gated ? take(dff) : nil
    }
    if c.randomLayerNormAffine {
      let all = normals(4 * d, .layerNormAffine)
      let hasBeta = c.block.normKind == .layer
      gamma1 = all[0..<d].map { 1 + $0 }; beta1 = hasBeta ? Array(all[d..<(2 * d)]) : nil
      gamma2 = all[(2 * d)..<(3 * d)].map { 1 + $0 }; beta2 = hasBeta ? Array(all[(3 * d)...]) : nil
    }
  }

  /// The final norm's γ and β (nil: 1 and 0): drawn like a layer's norm
  /// parameters (`--random-layernorm`) from the streams of layer L + 1.
  static func finalNormParameters(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> (gamma: [Float]?, beta: [Float]?) {
    guard c.randomLayerNormAffine, let kind = c.block.finalNorm else { return (nil, nil) }
    let d = c.modelDimension
    var all = [Float](repeating: 0, count: 2 * d)
    all.withUnsafeMutableBufferPointer {
      sampleStream(seed: seed, sample: sample, layer: c.layers + 1, .layerNormAffine)
        .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
    }
    return (all[0..<d].map { 1 + $0 }, kind == .layer ? Array(all[d...]) : nil)
  }
}

extension ModelConfiguration {
  /// The standard deviation of the weight matrix a stream purpose draws:
  /// σ, or σ/√(2L) for GPT-2's residual projections (W_O and the MLP's down projection).
  func weightScale(for purpose: StreamPurpose) -> Float {
    guard block.scalesResidualProjectionsByDepth, purpose == .output || purpose == .feedForwardOut else { return weightScale }
    return weightScale / Float(2 * Double(layers)).squareRoot()
  }
}
