import RankKernels

/// One layer's parameters, redrawn in place for each (sample, layer).
final class LayerWeights {
  var query, key, value, output: [Float]
  var feedForwardIn, feedForwardOut: [Float]
  /// PG-OP's gate weights, d × H (empty unless drawn).
  var gate: [Float] = []
  var biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardIn, biasFeedForwardOut, biasGate: [Float]?
  var gamma1, beta1, gamma2, beta2: [Float]?

  init(modelDimension d: Int, feedForwardDimension dff: Int) {
    query = [Float](repeating: 0, count: d * d); key = query; value = query; output = query
    feedForwardIn = [Float](repeating: 0, count: d * dff); feedForwardOut = feedForwardIn
  }

  /// Draws the layer's parameters; the weight matrices only if
  /// `includeMatrices` (the sketch engine never materialises them), the MLP's
  /// and the PG-OP gates' only if some variant has them.
  func draw(sample: UInt64, layer: Int, configuration c: ModelConfiguration, seed: UInt64, includeMatrices: Bool, includeMLP: Bool) {
    let needsGates = c.variants.contains { $0.positionGates }
    func fill(_ matrix: inout [Float], _ purpose: StreamPurpose) {
      drawWeights(&matrix, stream: sampleStream(seed: seed, sample: sample, layer: layer, purpose), configuration: c)
    }
    if includeMatrices {
      fill(&query, .query); fill(&key, .key); fill(&value, .value); fill(&output, .output)
      if includeMLP { fill(&feedForwardIn, .feedForwardIn); fill(&feedForwardOut, .feedForwardOut) }
      if needsGates {
        if gate.count != c.modelDimension * c.heads { gate = [Float](repeating: 0, count: c.modelDimension * c.heads) }
        fill(&gate, .gates)
      }
    }
    let d = c.modelDimension, dff = c.feedForwardDimension
    if needsGates && c.randomBiases {
      var bias = [Float](repeating: 0, count: c.heads)
      bias.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .gateBiases)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      biasGate = bias
    }
    if c.randomBiases {
      var all = [Float](repeating: 0, count: 5 * d + dff)
      all.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .biases)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      biasQuery = Array(all[0..<d]); biasKey = Array(all[d..<(2 * d)]); biasValue = Array(all[(2 * d)..<(3 * d)])
      biasOutput = Array(all[(3 * d)..<(4 * d)]); biasFeedForwardOut = Array(all[(4 * d)..<(5 * d)])
      biasFeedForwardIn = Array(all[(5 * d)...])
    }
    if c.randomLayerNormAffine {
      var all = [Float](repeating: 0, count: 4 * d)
      all.withUnsafeMutableBufferPointer {
        sampleStream(seed: seed, sample: sample, layer: layer, .layerNormAffine)
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: c.weightScale)
      }
      gamma1 = all[0..<d].map { 1 + $0 }; beta1 = Array(all[d..<(2 * d)])
      gamma2 = all[(2 * d)..<(3 * d)].map { 1 + $0 }; beta2 = Array(all[(3 * d)...])
    }
  }
}

