import Foundation

/// One Monte Carlo sample of a random-weight configuration written as a
/// Hugging Face model directory of its architecture, so that HF transformers
/// (or TransformerLens) can run exactly the network the dense engine ran.
///
/// Writes `config.json`, `model.safetensors` (F32, the base model's own
/// tensor names and layouts: nn.Linear [out, in], GPT-2's Conv1D [in, out],
/// GPT-NeoX's query_key_value interleaved per head) and `inputs.safetensors`
/// with `inputs_embeds` [1, n, E]: the word rows that HF's embedding layer
/// takes; the position and token type tables hold the sample's rows, so that
/// `model(inputs_embeds=…, output_hidden_states=True)` gives the states
/// 0…L the engine measures for the unmodified variant. The word table has
/// n rows (the sample's), so ids 0…n−1 give the same input.
///
/// Needs `--input embeddings`, Gaussian or uniform weights, no PG-OP gates;
/// the block must be one HF's class of that `model_type` can express.
public struct HuggingFaceExport {
  public let configuration: ModelConfiguration
  public let sample: UInt64
  public let seed: UInt64

  public init(configuration: ModelConfiguration, sample: UInt64, seed: UInt64) throws(ConfigurationError) {
    let c = configuration
    guard c.checkpoint == nil else { throw ConfigurationError("export writes sampled random weights; it cannot be used with \(.checkpoint)") }
    guard c.input == .embeddings else {
      throw ConfigurationError("export needs \(.input) embeddings (HF's model runs its own embedding layer; got \(.input) \(c.input.rawValue))")
    }
    if c.variants.contains(where: \.positionGates) { throw ConfigurationError("export: pgop gates have no Hugging Face counterpart") }
    try Self.checkExpressible(c)
    self.configuration = c
    self.sample = sample
    self.seed = seed
  }

  /// The block features each `model_type` has, one error naming the first that is missing.
  static func checkExpressible(_ c: ModelConfiguration) throws(ConfigurationError) {
    let b = c.block, name = c.architecture.rawValue
    func require(_ condition: Bool, _ what: String) throws(ConfigurationError) {
      if !condition { throw ConfigurationError("export \(.architecture) \(name): HF's \(c.architecture.huggingFaceModelType) model cannot express \(what)") }
    }
    switch c.architecture {
    case .bertBase, .albertBase:
      try require(b.normPosition == .post && b.normKind == .layer && b.finalNorm == nil, "norms other than post-LayerNorm")
      try require(b.mask == .bidirectional && b.positions == .learned && b.biases && b.embeddingLayer == .bert, "this mask, position encoding, bias or embedding setting")
      try require(c.keyValueHeads == c.heads && c.activation != .swiglu, "grouped-query heads or SwiGLU")
      if c.architecture == .bertBase { try require(b.sharedLayerGroups == nil && b.embeddingSize == nil, "shared layers or an embedding projection") }
    case .gpt2:
      try require(b.normPosition == .pre && b.normKind == .layer && b.finalNorm == .layer, "norms other than pre-LayerNorm with a final LayerNorm")
      try require(b.mask == .causal && b.positions == .learned && b.biases && b.embeddingLayer == .plain, "this mask, position encoding, bias or embedding setting")
      try require(c.keyValueHeads == c.heads && c.activation != .swiglu && b.sharedLayerGroups == nil && b.embeddingSize == nil, "grouped-query heads, SwiGLU, shared layers or an embedding projection")
    case .llama:
      try require(b.normPosition == .pre && b.normKind == .rms && b.finalNorm == .rms, "norms other than pre-RMSNorm with a final RMSNorm")
      try require(b.mask == .causal && b.positions == .rope && b.rotaryFraction == 1 && b.embeddingLayer == .plain, "this mask or position encoding")
      try require(c.activation == .swiglu && b.sharedLayerGroups == nil && b.embeddingSize == nil, "an MLP other than SwiGLU, shared layers or an embedding projection")
    case .pythia:
      try require(b.normPosition == .parallel && b.normKind == .layer && b.finalNorm == .layer, "norms other than parallel LayerNorm with a final LayerNorm")
      try require(b.mask == .causal && b.positions == .rope && b.biases && b.embeddingLayer == .plain, "this mask, position encoding or bias setting")
      try require(c.keyValueHeads == c.heads && c.activation != .swiglu && b.sharedLayerGroups == nil && b.embeddingSize == nil, "grouped-query heads, SwiGLU, shared layers or an embedding projection")
    }
    if c.block.biases == false && c.randomBiases { throw ConfigurationError("export: \(.randomBiases) on a block without biases") }
  }

  /// Writes the three files into `directory` (created; must not hold a config.json yet).
  public func write(to directory: URL) throws {
    let fileManager = FileManager.default
    if fileManager.fileExists(atPath: directory.appendingPathComponent("config.json").path) {
      throw ConfigurationError("\(.output) \(directory.path) already holds a config.json; choose another directory")
    }
    try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
    let c = configuration
    let embedding = EmbeddingSample(sample: sample, configuration: c, seed: seed)
    try Data(safetensorsBytes(tensors(embedding: embedding))).write(to: directory.appendingPathComponent("model.safetensors"))
    let inputs = TensorToWrite(name: "inputs_embeds", dataType: .f32, shape: [1, c.sequenceLength, c.embeddingSize], values: embedding.words)
    try Data(safetensorsBytes([inputs])).write(to: directory.appendingPathComponent("inputs.safetensors"))
    let json = try JSONSerialization.data(withJSONObject: configJSON(), options: [.prettyPrinted, .sortedKeys])
    try json.write(to: directory.appendingPathComponent("config.json"))
  }

  /// config.json for HF's `AutoModel`: the widths, the block, dropout 0.
  func configJSON() -> [String: Any] {
    let c = configuration, n = c.sequenceLength
    var j: [String: Any] = [
      "model_type": c.architecture.huggingFaceModelType, "vocab_size": n, "initializer_range": Double(c.weightScale),
      // The word table has only the sample's n rows: no special tokens.
      "bos_token_id": NSNull(), "eos_token_id": NSNull(), "pad_token_id": NSNull(),
    ]
    let activation: String = switch c.activation {
    case .gelu: "gelu"
    case .geluTanh: "gelu_new"
    case .relu: "relu"
    case .swiglu: "silu"
    }
    let eps = Double(c.layerNormEpsilon)
    switch c.architecture {
    case .bertBase, .albertBase:
      j["hidden_size"] = c.modelDimension; j["num_hidden_layers"] = c.layers; j["num_attention_heads"] = c.heads
      j["intermediate_size"] = c.feedForwardDimension; j["hidden_act"] = activation; j["layer_norm_eps"] = eps
      j["max_position_embeddings"] = n; j["type_vocab_size"] = 1
      j["hidden_dropout_prob"] = 0.0; j["attention_probs_dropout_prob"] = 0.0
      if c.architecture == .albertBase {
        j["embedding_size"] = c.embeddingSize; j["num_hidden_groups"] = c.block.sharedLayerGroups ?? c.layers
        j["inner_group_num"] = 1; j["classifier_dropout_prob"] = 0.0
        j["architectures"] = ["AlbertModel"]
      } else {
        j["architectures"] = ["BertModel"]
      }
    case .gpt2:
      j["n_embd"] = c.modelDimension; j["n_layer"] = c.layers; j["n_head"] = c.heads; j["n_inner"] = c.feedForwardDimension
      j["n_positions"] = n; j["activation_function"] = activation; j["layer_norm_epsilon"] = eps
      j["resid_pdrop"] = 0.0; j["embd_pdrop"] = 0.0; j["attn_pdrop"] = 0.0
      j["architectures"] = ["GPT2Model"]
    case .llama:
      j["hidden_size"] = c.modelDimension; j["num_hidden_layers"] = c.layers; j["num_attention_heads"] = c.heads
      j["num_key_value_heads"] = c.keyValueHeads; j["head_dim"] = c.headDimension
      j["intermediate_size"] = c.feedForwardDimension; j["hidden_act"] = activation; j["rms_norm_eps"] = eps
      j["max_position_embeddings"] = n; j["rope_theta"] = c.block.ropeTheta
      j["rope_parameters"] = ["rope_type": "default", "rope_theta": c.block.ropeTheta]
      j["attention_bias"] = c.block.biases; j["mlp_bias"] = c.block.biases; j["tie_word_embeddings"] = true
      j["attention_dropout"] = 0.0
      j["architectures"] = ["LlamaModel"]
    case .pythia:
      j["hidden_size"] = c.modelDimension; j["num_hidden_layers"] = c.layers; j["num_attention_heads"] = c.heads
      j["intermediate_size"] = c.feedForwardDimension; j["hidden_act"] = activation; j["layer_norm_eps"] = eps
      j["max_position_embeddings"] = n; j["use_parallel_residual"] = true; j["attention_bias"] = true
      j["rotary_pct"] = c.block.rotaryFraction; j["rotary_emb_base"] = c.block.ropeTheta
      j["rope_parameters"] = ["rope_type": "default", "rope_theta": c.block.ropeTheta, "partial_rotary_factor": c.block.rotaryFraction]
      j["hidden_dropout"] = 0.0; j["attention_dropout"] = 0.0; j["tie_word_embeddings"] = false
      j["architectures"] = ["GPTNeoXModel"]
    }
    return j
  }

  /// Every tensor of the base model, by its HF name, in HF's layout.
  func tensors(embedding: EmbeddingSample) -> [TensorToWrite] {
    let c = configuration
    let d = c.modelDimension, dff = c.feedForwardDimension, kv = c.keyValueWidth, dk = c.headDimension
    var out: [TensorToWrite] = []
    func add(_ name: String, _ shape: [Int], _ values: [Float]) {
      precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
      out.append(TensorToWrite(name: name, dataType: .f32, shape: shape, values: values))
    }
    func ones(_ count: Int) -> [Float] { [Float](repeating: 1, count: count) }
    func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }
    /// [in × out] as held here to nn.Linear's [out, in].
    func linear(_ w: [Float], inputs: Int, outputs: Int) -> [Float] { transposed(w, rows: inputs, columns: outputs) }
    let weights = LayerWeights(modelDimension: d, feedForwardDimension: dff)
    let groups = c.block.sharedLayerGroups ?? c.layers
    let layersPerGroup = c.layers / groups
    func drawGroup(_ g: Int) {
      weights.draw(sample: sample, layer: g * layersPerGroup + 1, configuration: c, seed: seed, includeMatrices: true, includeMLP: true)
    }
    let n = c.sequenceLength, e = c.embeddingSize, x = embedding
    let final = LayerWeights.finalNormParameters(sample: sample, configuration: c, seed: seed)

    switch c.architecture {
    case .bertBase, .albertBase:
      add("embeddings.word_embeddings.weight", [n, e], x.words)
      add("embeddings.position_embeddings.weight", [n, e], x.positions!)
      add("embeddings.token_type_embeddings.weight", [1, e], x.tokenType!)
      add("embeddings.LayerNorm.weight", [e], ones(e)); add("embeddings.LayerNorm.bias", [e], zeros(e))
      if c.architecture == .albertBase {
        add("encoder.embedding_hidden_mapping_in.weight", [d, e], x.projection.map { linear($0, inputs: e, outputs: d) } ?? zeros(d * e))
        add("encoder.embedding_hidden_mapping_in.bias", [d], zeros(d))
      }
      for g in 0..<(c.architecture == .albertBase ? groups : c.layers) {
        drawGroup(g)
        let p = c.architecture == .albertBase ? "encoder.albert_layer_groups.\(g).albert_layers.0." : "encoder.layer.\(g)."
        let names: (q: String, k: String, v: String, o: String, ln1: String, up: String, down: String, ln2: String) =
          c.architecture == .albertBase
          ? ("attention.query", "attention.key", "attention.value", "attention.dense", "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm")
          : ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "attention.output.LayerNorm",
             "intermediate.dense", "output.dense", "output.LayerNorm")
        add(p + names.q + ".weight", [d, d], linear(weights.query, inputs: d, outputs: d)); add(p + names.q + ".bias", [d], weights.biasQuery ?? zeros(d))
        add(p + names.k + ".weight", [d, d], linear(weights.key, inputs: d, outputs: d)); add(p + names.k + ".bias", [d], weights.biasKey ?? zeros(d))
        add(p + names.v + ".weight", [d, d], linear(weights.value, inputs: d, outputs: d)); add(p + names.v + ".bias", [d], weights.biasValue ?? zeros(d))
        add(p + names.o + ".weight", [d, d], linear(weights.output, inputs: d, outputs: d)); add(p + names.o + ".bias", [d], weights.biasOutput ?? zeros(d))
        add(p + names.ln1 + ".weight", [d], weights.gamma1 ?? ones(d)); add(p + names.ln1 + ".bias", [d], weights.beta1 ?? zeros(d))
        add(p + names.up + ".weight", [dff, d], linear(weights.feedForwardIn, inputs: d, outputs: dff)); add(p + names.up + ".bias", [dff], weights.biasFeedForwardIn ?? zeros(dff))
        add(p + names.down + ".weight", [d, dff], linear(weights.feedForwardOut, inputs: dff, outputs: d)); add(p + names.down + ".bias", [d], weights.biasFeedForwardOut ?? zeros(d))
        add(p + names.ln2 + ".weight", [d], weights.gamma2 ?? ones(d)); add(p + names.ln2 + ".bias", [d], weights.beta2 ?? zeros(d))
      }
    case .gpt2:
      add("wte.weight", [n, d], x.words)
      add("wpe.weight", [n, d], x.positions!)
      for l in 0..<c.layers {
        drawGroup(l)
        let p = "h.\(l)."
        // Conv1D keeps [in, out]: c_attn's columns are q | k | v.
        var attention = [Float](repeating: 0, count: d * 3 * d)
        for i in 0..<d {
          for j in 0..<d {
            attention[i * 3 * d + j] = weights.query[i * d + j]
            attention[i * 3 * d + d + j] = weights.key[i * d + j]
            attention[i * 3 * d + 2 * d + j] = weights.value[i * d + j]
          }
        }
        add(p + "ln_1.weight", [d], weights.gamma1 ?? ones(d)); add(p + "ln_1.bias", [d], weights.beta1 ?? zeros(d))
        add(p + "attn.c_attn.weight", [d, 3 * d], attention)
        add(p + "attn.c_attn.bias", [3 * d], (weights.biasQuery ?? zeros(d)) + (weights.biasKey ?? zeros(d)) + (weights.biasValue ?? zeros(d)))
        add(p + "attn.c_proj.weight", [d, d], weights.output); add(p + "attn.c_proj.bias", [d], weights.biasOutput ?? zeros(d))
        add(p + "ln_2.weight", [d], weights.gamma2 ?? ones(d)); add(p + "ln_2.bias", [d], weights.beta2 ?? zeros(d))
        add(p + "mlp.c_fc.weight", [d, dff], weights.feedForwardIn); add(p + "mlp.c_fc.bias", [dff], weights.biasFeedForwardIn ?? zeros(dff))
        add(p + "mlp.c_proj.weight", [dff, d], weights.feedForwardOut); add(p + "mlp.c_proj.bias", [d], weights.biasFeedForwardOut ?? zeros(d))
      }
      add("ln_f.weight", [d], final.gamma ?? ones(d)); add("ln_f.bias", [d], final.beta ?? zeros(d))
    case .llama:
      add("embed_tokens.weight", [n, d], x.words)
      for l in 0..<c.layers {
        drawGroup(l)
        let p = "layers.\(l)."
        let biased = c.block.biases
        add(p + "input_layernorm.weight", [d], weights.gamma1 ?? ones(d))
        add(p + "self_attn.q_proj.weight", [d, d], linear(weights.query, inputs: d, outputs: d))
        add(p + "self_attn.k_proj.weight", [kv, d], linear(weights.key, inputs: d, outputs: kv))
        add(p + "self_attn.v_proj.weight", [kv, d], linear(weights.value, inputs: d, outputs: kv))
        add(p + "self_attn.o_proj.weight", [d, d], linear(weights.output, inputs: d, outputs: d))
        add(p + "post_attention_layernorm.weight", [d], weights.gamma2 ?? ones(d))
        add(p + "mlp.gate_proj.weight", [dff, d], linear(weights.feedForwardGate, inputs: d, outputs: dff))
        add(p + "mlp.up_proj.weight", [dff, d], linear(weights.feedForwardIn, inputs: d, outputs: dff))
        add(p + "mlp.down_proj.weight", [d, dff], linear(weights.feedForwardOut, inputs: dff, outputs: d))
        if biased {
          add(p + "self_attn.q_proj.bias", [d], weights.biasQuery ?? zeros(d)); add(p + "self_attn.k_proj.bias", [kv], weights.biasKey ?? zeros(kv))
          add(p + "self_attn.v_proj.bias", [kv], weights.biasValue ?? zeros(kv)); add(p + "self_attn.o_proj.bias", [d], weights.biasOutput ?? zeros(d))
          add(p + "mlp.gate_proj.bias", [dff], weights.biasFeedForwardGate ?? zeros(dff)); add(p + "mlp.up_proj.bias", [dff], weights.biasFeedForwardIn ?? zeros(dff))
          add(p + "mlp.down_proj.bias", [d], weights.biasFeedForwardOut ?? zeros(d))
        }
      }
      add("norm.weight", [d], final.gamma ?? ones(d))
    case .pythia:
      add("embed_in.weight", [n, d], x.words)
      for l in 0..<c.layers {
        drawGroup(l)
        let p = "layers.\(l)."
        // [3d, d]: per head h, rows of q_h, then k_h, then v_h (GPT-NeoX's interleaving).
        let q = linear(weights.query, inputs: d, outputs: d), k = linear(weights.key, inputs: d, outputs: d)
        let v = linear(weights.value, inputs: d, outputs: d)
        let qb = weights.biasQuery ?? zeros(d), kb = weights.biasKey ?? zeros(d), vb = weights.biasValue ?? zeros(d)
        var fused: [Float] = [], fusedBias: [Float] = []
        for h in 0..<c.heads {
          for source in [q, k, v] { fused += source[(h * dk * d)..<((h + 1) * dk * d)] }
          for source in [qb, kb, vb] { fusedBias += source[(h * dk)..<((h + 1) * dk)] }
        }
        add(p + "input_layernorm.weight", [d], weights.gamma1 ?? ones(d)); add(p + "input_layernorm.bias", [d], weights.beta1 ?? zeros(d))
        add(p + "post_attention_layernorm.weight", [d], weights.gamma2 ?? ones(d)); add(p + "post_attention_layernorm.bias", [d], weights.beta2 ?? zeros(d))
        add(p + "attention.query_key_value.weight", [3 * d, d], fused); add(p + "attention.query_key_value.bias", [3 * d], fusedBias)
        add(p + "attention.dense.weight", [d, d], linear(weights.output, inputs: d, outputs: d)); add(p + "attention.dense.bias", [d], weights.biasOutput ?? zeros(d))
        add(p + "mlp.dense_h_to_4h.weight", [dff, d], linear(weights.feedForwardIn, inputs: d, outputs: dff)); add(p + "mlp.dense_h_to_4h.bias", [dff], weights.biasFeedForwardIn ?? zeros(dff))
        add(p + "mlp.dense_4h_to_h.weight", [d, dff], linear(weights.feedForwardOut, inputs: dff, outputs: d)); add(p + "mlp.dense_4h_to_h.bias", [d], weights.biasFeedForwardOut ?? zeros(d))
      }
      add("final_layer_norm.weight", [d], final.gamma ?? ones(d)); add("final_layer_norm.bias", [d], final.beta ?? zeros(d))
    }
    return out
  }
}
