import RankKernels

/// One layer of a dense forward pass with the internals that the claims
/// experiments inspect: the drawn weights, the attention matrices and the
/// per-head outputs before the output projection.
struct ProbedLayer {
  /// 1-based layer index.
  var layer: Int
  var weights: LayerWeights
  /// X_l, the layer's input (n × d).
  var input: [Float]
  /// What the attention reads: X_l, or LN(X_l) for pre-LN.
  var attentionInput: [Float]
  /// A_h = softmax(Q_h·K_hᵀ/√d_k), H × n × n.
  var probabilities: [Float]
  /// Entropy of each attention row in nats, H × n.
  var rowEntropies: [Float]
  /// concat_h(A_h·V_h), n × d, before PG-OP's gates and W_O.
  var headOutputs: [Float]
  /// PG-OP's gates (n × H), if the variant has them.
  var gates: [Float]?
  /// X_{l+1}.
  var output: [Float]
}

/// Runs the dense engine's forward pass for one variant of one sample (the
/// same weights and input as `DenseEngine`, so its numbers match
/// `mc-generic --engine dense`) and hands each layer's internals to `visit`.
///
/// Single-threaded (callers parallelise over samples). The attention of each
/// layer is computed twice, once here with its matrices and once inside the
/// engine's layer; claims experiments run few dense samples, so clarity wins.
func probeDenseForward(
  sample: UInt64, configuration c: ModelConfiguration, variant: Variant, seed: UInt64, layers: Int? = nil,
  _ visit: (ProbedLayer) -> Void
) {
  var probeConfiguration = c
  probeConfiguration.variants = [variant]
  let n = c.sequenceLength, d = c.modelDimension, heads = c.heads
  let weights = LayerWeights(modelDimension: d, feedForwardDimension: variant.mlp ? c.feedForwardDimension : 0)
  let projector = DenseProjector(weights: weights)
  var x = sampleInput(sample: sample, configuration: c, seed: seed)
  for layer in 1...(layers ?? c.layers) {
    weights.draw(sample: sample, layer: layer, configuration: probeConfiguration, seed: seed, includeMatrices: true, includeMLP: variant.mlp)
    var attentionInput = x
    if variant.preLayerNorm {
      applyLayerNorm(&attentionInput, rows: n, columns: d, gamma: weights.gamma1, beta: weights.beta1, eps: c.layerNormEpsilon)
    }
    var q = project(attentionInput, rows: n, weights.query, columns: d)
    var k = project(attentionInput, rows: n, weights.key, columns: d)
    var v = project(attentionInput, rows: n, weights.value, columns: d)
    addBias(&q, weights.biasQuery, rows: n, columns: d)
    addBias(&k, weights.biasKey, rows: n, columns: d)
    addBias(&v, weights.biasValue, rows: n, columns: d)
    var headOutputs = [Float](repeating: 0, count: n * d)
    var probabilities = [Float](repeating: 0, count: heads * n * n)
    var entropies = [Float](repeating: 0, count: heads * n)
    headOutputs.withUnsafeMutableBufferPointer { out in
      probabilities.withUnsafeMutableBufferPointer { p in
        entropies.withUnsafeMutableBufferPointer { e in
          multiHeadAttention(
            shape: AttentionShape(batch: 1, sequenceLength: n, heads: heads, headDimension: c.headDimension),
            query: q, key: k, value: v, output: out.baseAddress!, probabilities: p.baseAddress!,
            rowEntropy: e.baseAddress!, threads: 1)
        }
      }
    }
    let gates = variant.positionGates
      ? projector.positionGates(ProjectionOperand(matrix: attentionInput, rows: n), weights: weights, configuration: c) : nil
    let input = x
    _ = encoderLayer(variant, state: &x, weights: weights, projector: projector, configuration: probeConfiguration)
    visit(ProbedLayer(
      layer: layer, weights: weights, input: input, attentionInput: attentionInput, probabilities: probabilities,
      rowEntropies: entropies, headOutputs: headOutputs, gates: gates, output: x))
  }
}
