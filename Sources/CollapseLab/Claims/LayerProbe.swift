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
  let weights = LayerWeights(modelDimension: c.modelDimension, feedForwardDimension: variant.mlp ? c.feedForwardDimension : 0)
  probeForward(
    input: sampleInput(sample: sample, configuration: c, seed: seed), configuration: c, variant: variant, layers: layers ?? c.layers,
    weights: { layer in
      weights.draw(sample: sample, layer: layer, configuration: probeConfiguration, seed: seed, includeMatrices: true, includeMLP: variant.mlp)
      return weights
    }, visit)
}

/// The same for a trained checkpoint's parameters (or HF's initialisation
/// of its architecture) on token ids: X₀ from its embedding layer, its
/// weights as stored (no perturbation).
func probeCheckpointForward(
  _ parameters: BertParameters, tokens: [Int32], configuration c: ModelConfiguration, variant: Variant, layers: Int? = nil,
  _ visit: (ProbedLayer) -> Void
) {
  var inputConfiguration = c
  inputConfiguration.sequenceLength = tokens.count
  let x0 = embedTokens(tokens, embeddings: parameters.embeddings, noise: nil, configuration: inputConfiguration)
  probeForward(
    input: x0, configuration: inputConfiguration, variant: variant, layers: layers ?? c.layers,
    weights: { parameters.layers[$0 - 1].layerWeights() }, visit)
}

/// The probed forward pass from X₀ with `weights(layer)` for layers 1…`layers`.
func probeForward(
  input: [Float], configuration c: ModelConfiguration, variant: Variant, layers: Int, weights weightsFor: (Int) -> LayerWeights,
  _ visit: (ProbedLayer) -> Void
) {
  var probeConfiguration = c
  probeConfiguration.variants = [variant]
  let n = c.sequenceLength, d = c.modelDimension, heads = c.heads
  var x = input
  for layer in stride(from: 1, through: layers, by: 1) {
    let weights = weightsFor(layer)
    let projector = DenseProjector(weights: weights)
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
