import Foundation

extension TrainedTransformer {
  /// The `model_type`s of config.json read here (BERT has `BertCheckpoint`).
  public static let huggingFaceModelTypes = ["albert", "gpt2", "gpt_neox", "llama"]

  /// Loads a Hugging Face directory of model_type `gpt2`, `llama` (Llama,
  /// SmolLM2, TinyLlama), `gpt_neox` (Pythia) or `albert`: config.json, the
  /// safetensors weights (sharded index included; F32, F16 or BF16) and, when
  /// present, a byte-level BPE tokenizer.json.
  ///
  /// Names may carry the prefix a model with a head saves (`transformer.`,
  /// `model.`, `gpt_neox.`, `albert.`); output heads (`lm_head`, `embed_out`,
  /// ALBERT's `predictions`) and buffers are not used. HF's defaults fill the
  /// optional config fields. Every failure is one line naming the file, key
  /// or tensor and the values.
  public init(huggingFaceDirectory directory: URL) throws(CheckpointError) {
    let path = directory.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CheckpointError("\(.checkpoint) \(path): no such directory")
    }
    let config = try HuggingFaceConfig(directory: directory)
    let modelType = config.modelType
    guard Self.huggingFaceModelTypes.contains(modelType) else {
      throw CheckpointError("\(config.path): model_type '\(modelType)' is not supported (supported: bert, \(Self.huggingFaceModelTypes.joined(separator: ", ")))")
    }
    let files = try safetensorsWeightFiles(in: directory)
    var reader = HuggingFaceTensorReader(files: files, config: config)
    let loaded: (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
    switch modelType {
    case "gpt2": loaded = try Self.gpt2(config, &reader)
    case "llama": loaded = try Self.llama(config, &reader)
    case "gpt_neox": loaded = try Self.neox(config, &reader)
    default: loaded = try Self.albert(config, &reader)
    }
    var c = loaded.0
    let (_, embeddings, layers, finalNorm) = loaded
    c.sequenceLength = 1
    do { try c.validateBlock() } catch { throw CheckpointError("\(config.path): \(error.description)") }
    let vocabulary = embeddings.wordCount
    if let declared = config["vocab_size"] as? Int, declared != vocabulary {
      throw CheckpointError("\(config.path): vocab_size \(declared), but the word embedding table has \(vocabulary) rows")
    }
    // The tokenizer: only --text needs it, so an unsupported one is remembered, not fatal.
    var tokenizer: ByteLevelBPETokenizer?, reason: SettingMessage?, prepended: Int32?
    var special = Set<Int32>()
    let tokenizerFile = directory.appendingPathComponent("tokenizer.json")
    if FileManager.default.fileExists(atPath: tokenizerFile.path) {
      do {
        let description = try TokenizerJSON(contentsOf: tokenizerFile)
        special.formUnion(description.specialTokenIDs)
        let t = try ByteLevelBPETokenizer(tokenizerJSON: description)
        tokenizer = t
        prepended = description.prependedTokenID
      } catch {
        reason = error.message
      }
    } else {
      reason = SettingMessage("\(path) has no tokenizer.json (SentencePiece models such as ALBERT's are not implemented); use \(.tokenIDs) FILE")
    }
    for key in ["bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "sep_token_id", "cls_token_id", "mask_token_id"] {
      // An id that does not fit Int32 lies outside any vocabulary (≤ 2³¹) and excludes nothing.
      if let id = config[key] as? Int, let narrow = Int32(exactly: id) { special.insert(narrow) }
    }
    let ordinary = (0..<Int32(vocabulary)).filter { !special.contains($0) }
    let name = (config["_name_or_path"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? directory.lastPathComponent
    self.init(
      path: path, name: name, sha256: files.map { sha256Hex($0.bytes) }.joined(separator: ","), format: "\(modelType) safetensors",
      configuration: c, embeddings: embeddings, layers: layers, finalNorm: finalNorm, ordinaryTokenIDs: ordinary,
      tokenizer: tokenizer, tokenizerUnavailableReason: reason, prependedTokenID: prepended, unusedTensors: reader.unused())
  }

  /// `hidden_act` / `activation_function` to the MLP's activation.
  private static func activation(_ name: String, key: String, config: HuggingFaceConfig) throws(CheckpointError) -> FeedForwardActivation {
    switch name {
    case "gelu": return .gelu
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
    case "relu": return .relu
    default: throw CheckpointError("\(config.path): \(key) '\(name)' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)")
    }
  }

  /// RoPE θ and the rotary fraction from `rope_parameters` (transformers 5) or
  /// the older keys; scaled RoPE variants are refused.
  private static func rope(
    _ config: HuggingFaceConfig, thetaKeys: [String], fractionKeys: [String], defaultFraction: Double
  ) throws(CheckpointError) -> (theta: Double, fraction: Double) {
    var theta = 10_000.0, fraction = defaultFraction
    for key in thetaKeys { if let v = config[key] as? NSNumber { theta = v.doubleValue; break } }
    for key in fractionKeys { if let v = config[key] as? NSNumber { fraction = v.doubleValue; break } }
    for key in ["rope_parameters", "rope_scaling"] {
      guard let parameters = config[key] as? [String: Any] else { continue }
      let type = (parameters["rope_type"] ?? parameters["type"]) as? String ?? "default"
      if type != "default" { throw CheckpointError("\(config.path): \(key) rope_type '\(type)' is not supported (only unscaled RoPE)") }
      if let v = parameters["rope_theta"] as? NSNumber { theta = v.doubleValue }
      if let v = parameters["partial_rotary_factor"] as? NSNumber { fraction = v.doubleValue }
    }
    return (theta, fraction)
  }

  private static func gpt2(_ config: HuggingFaceConfig, _ r: inout HuggingFaceTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    var c = Architecture.gpt2.configuration
    let d = try config.integer("n_embd", default: 768)
    c.modelDimension = d
    c.layers = try config.integer("n_layer", default: 12)
    c.heads = try config.integer("n_head", default: 12)
    let dff = try config.integer("n_inner", default: 4 * d)
    c.feedForwardDimension = dff
    c.layerNormEpsilon = Float(try config.number("layer_norm_epsilon", default: 1e-5))
    c.activation = try activation(try config.string("activation_function", default: "gelu_new"), key: "activation_function", config: config)
    let scalesByLayer = try config.bool("scale_attn_by_inverse_layer_idx", default: false)
    let scalesWeights = try config.bool("scale_attn_weights", default: true)
    if scalesByLayer || !scalesWeights {
      throw CheckpointError("\(config.path): scale_attn_by_inverse_layer_idx / scale_attn_weights change GPT-2's 1/√d_k scaling; not supported")
    }
    if try config.bool("add_cross_attention", default: false) { throw CheckpointError("\(config.path): add_cross_attention is not supported") }
    try r.choosePrefix(among: ["", "transformer."], anchor: "wte.weight")
    let positions = try config.integer("n_positions", default: 1024)
    let words = try r.matrix("wte.weight", columns: d, describing: "n_embd \(d)")
    let embeddings = TrainedEmbeddings(words: words, width: d, positions: try r.tensor("wpe.weight", [positions, d]))
    var layers: [LayerWeights] = []
    for l in 0..<c.layers {
      let p = "h.\(l).", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.gamma1 = try r.tensor(p + "ln_1.weight", [d]); w.beta1 = try r.tensor(p + "ln_1.bias", [d])
      // Conv1D holds [in, out]: the engines' layout; c_attn's columns are q | k | v.
      let fused = try r.tensor(p + "attn.c_attn.weight", [d, 3 * d]), fusedBias = try r.tensor(p + "attn.c_attn.bias", [3 * d])
      let parts = splittingColumns(fused, rows: d, into: 3)
      w.query = parts[0]; w.key = parts[1]; w.value = parts[2]
      w.biasQuery = Array(fusedBias[0..<d]); w.biasKey = Array(fusedBias[d..<(2 * d)]); w.biasValue = Array(fusedBias[(2 * d)...])
      w.output = try r.tensor(p + "attn.c_proj.weight", [d, d]); w.biasOutput = try r.tensor(p + "attn.c_proj.bias", [d])
      w.gamma2 = try r.tensor(p + "ln_2.weight", [d]); w.beta2 = try r.tensor(p + "ln_2.bias", [d])
      w.feedForwardIn = try r.tensor(p + "mlp.c_fc.weight", [d, dff]); w.biasFeedForwardIn = try r.tensor(p + "mlp.c_fc.bias", [dff])
      w.feedForwardOut = try r.tensor(p + "mlp.c_proj.weight", [dff, d]); w.biasFeedForwardOut = try r.tensor(p + "mlp.c_proj.bias", [d])
      layers.append(w)
    }
    let final = (try r.tensor("ln_f.weight", [d]), Optional(try r.tensor("ln_f.bias", [d])))
    r.ignore(prefixes: ["lm_head."], suffixes: [".attn.bias", ".attn.masked_bias"])
    return (c, embeddings, layers, final)
  }

  private static func llama(_ config: HuggingFaceConfig, _ r: inout HuggingFaceTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    var c = Architecture.llama.configuration
    let d = try config.integer("hidden_size"), heads = try config.integer("num_attention_heads")
    c.modelDimension = d; c.heads = heads
    c.layers = try config.integer("num_hidden_layers")
    let dff = try config.integer("intermediate_size")
    c.feedForwardDimension = dff
    let kvHeads = try config.integer("num_key_value_heads", default: heads)
    c.block.keyValueHeads = kvHeads
    c.layerNormEpsilon = Float(try config.number("rms_norm_eps", default: 1e-6))
    let act = try config.string("hidden_act", default: "silu")
    guard act == "silu" else { throw CheckpointError("\(config.path): hidden_act '\(act)' is not supported for llama (silu: SwiGLU)") }
    guard d % heads == 0, heads % kvHeads == 0 else {
      throw CheckpointError("\(config.path): hidden_size \(d), num_attention_heads \(heads) and num_key_value_heads \(kvHeads) do not fit together")
    }
    if let headDim = config["head_dim"] as? Int, headDim != d / heads {
      throw CheckpointError("\(config.path): head_dim \(headDim) differs from hidden_size / num_attention_heads = \(d / heads); not supported")
    }
    c.block.ropeTheta = try rope(config, thetaKeys: ["rope_theta"], fractionKeys: [], defaultFraction: 1).theta
    let attentionBias = try config.bool("attention_bias", default: false), mlpBias = try config.bool("mlp_bias", default: false)
    c.block.biases = attentionBias || mlpBias
    try r.choosePrefix(among: ["", "model."], anchor: "embed_tokens.weight")
    let kv = kvHeads * (d / heads)
    let embeddings = TrainedEmbeddings(words: try r.matrix("embed_tokens.weight", columns: d, describing: "hidden_size \(d)"), width: d)
    var layers: [LayerWeights] = []
    for l in 0..<c.layers {
      let p = "layers.\(l).", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.gamma1 = try r.tensor(p + "input_layernorm.weight", [d])
      w.query = try r.linear(p + "self_attn.q_proj", inputs: d, outputs: d, bias: attentionBias, into: &w.biasQuery)
      w.key = try r.linear(p + "self_attn.k_proj", inputs: d, outputs: kv, bias: attentionBias, into: &w.biasKey)
      w.value = try r.linear(p + "self_attn.v_proj", inputs: d, outputs: kv, bias: attentionBias, into: &w.biasValue)
      w.output = try r.linear(p + "self_attn.o_proj", inputs: d, outputs: d, bias: attentionBias, into: &w.biasOutput)
      w.gamma2 = try r.tensor(p + "post_attention_layernorm.weight", [d])
      w.feedForwardGate = try r.linear(p + "mlp.gate_proj", inputs: d, outputs: dff, bias: mlpBias, into: &w.biasFeedForwardGate)
      w.feedForwardIn = try r.linear(p + "mlp.up_proj", inputs: d, outputs: dff, bias: mlpBias, into: &w.biasFeedForwardIn)
      w.feedForwardOut = try r.linear(p + "mlp.down_proj", inputs: dff, outputs: d, bias: mlpBias, into: &w.biasFeedForwardOut)
      layers.append(w)
    }
    let final = (try r.tensor("norm.weight", [d]), [Float]?.none)
    r.ignore(prefixes: ["lm_head."], suffixes: [".rotary_emb.inv_freq"])
    return (c, embeddings, layers, final)
  }

  private static func neox(_ config: HuggingFaceConfig, _ r: inout HuggingFaceTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    var c = Architecture.pythia.configuration
    let d = try config.integer("hidden_size"), heads = try config.integer("num_attention_heads")
    c.modelDimension = d; c.heads = heads
    c.layers = try config.integer("num_hidden_layers")
    let dff = try config.integer("intermediate_size")
    c.feedForwardDimension = dff
    c.layerNormEpsilon = Float(try config.number("layer_norm_eps", default: 1e-5))
    c.activation = try activation(try config.string("hidden_act", default: "gelu"), key: "hidden_act", config: config)
    guard d % heads == 0 else { throw CheckpointError("\(config.path): hidden_size \(d) is not divisible by num_attention_heads \(heads)") }
    let dk = d / heads
    let (theta, fraction) = try rope(config, thetaKeys: ["rotary_emb_base", "rope_theta"], fractionKeys: ["rotary_pct", "partial_rotary_factor"], defaultFraction: 0.25)
    // HF rotates int(d_k · fraction) dimensions.
    let rotary = Int(Double(dk) * fraction)
    guard rotary >= 2, rotary % 2 == 0 else { throw CheckpointError("\(config.path): rotary fraction \(fraction) of head width \(dk) gives \(rotary) rotary dimensions; need an even number ≥ 2") }
    c.block.ropeTheta = theta
    c.block.rotaryFraction = Double(rotary) / Double(dk)
    if !(try config.bool("use_parallel_residual", default: true)) { c.block.normPosition = .pre; c.variants = Variant.dongSurgeries(normPosition: .pre) }
    let biased = try config.bool("attention_bias", default: true)
    c.block.biases = true
    try r.choosePrefix(among: ["", "gpt_neox."], anchor: "embed_in.weight")
    let embeddings = TrainedEmbeddings(words: try r.matrix("embed_in.weight", columns: d, describing: "hidden_size \(d)"), width: d)
    var layers: [LayerWeights] = []
    for l in 0..<c.layers {
      let p = "layers.\(l).", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.gamma1 = try r.tensor(p + "input_layernorm.weight", [d]); w.beta1 = try r.tensor(p + "input_layernorm.bias", [d])
      w.gamma2 = try r.tensor(p + "post_attention_layernorm.weight", [d]); w.beta2 = try r.tensor(p + "post_attention_layernorm.bias", [d])
      // query_key_value [3d, d]: per head h, d_k rows of q, then of k, then of v.
      let fused = try r.tensor(p + "attention.query_key_value.weight", [3 * d, d])
      let fusedBias = biased ? try r.tensor(p + "attention.query_key_value.bias", [3 * d]) : [Float](repeating: 0, count: 3 * d)
      var rows = [[Float]](repeating: [], count: 3), biases = [[Float]](repeating: [], count: 3)
      for h in 0..<heads {
        for t in 0..<3 {
          let first = h * 3 * dk + t * dk
          rows[t] += fused[(first * d)..<((first + dk) * d)]
          biases[t] += fusedBias[first..<(first + dk)]
        }
      }
      w.query = transposed(rows[0], rows: d, columns: d); w.key = transposed(rows[1], rows: d, columns: d)
      w.value = transposed(rows[2], rows: d, columns: d)
      if biased { w.biasQuery = biases[0]; w.biasKey = biases[1]; w.biasValue = biases[2] }
      w.output = try r.linear(p + "attention.dense", inputs: d, outputs: d, bias: biased, into: &w.biasOutput)
      w.feedForwardIn = try r.linear(p + "mlp.dense_h_to_4h", inputs: d, outputs: dff, bias: true, into: &w.biasFeedForwardIn)
      w.feedForwardOut = try r.linear(p + "mlp.dense_4h_to_h", inputs: dff, outputs: d, bias: true, into: &w.biasFeedForwardOut)
      layers.append(w)
    }
    let final = (try r.tensor("final_layer_norm.weight", [d]), Optional(try r.tensor("final_layer_norm.bias", [d])))
    r.ignore(prefixes: ["embed_out."], suffixes: [".attention.bias", ".attention.masked_bias", ".rotary_emb.inv_freq"])
    return (c, embeddings, layers, final)
  }

  private static func albert(_ config: HuggingFaceConfig, _ r: inout HuggingFaceTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    var c = Architecture.albertBase.configuration
    let d = try config.integer("hidden_size", default: 4096), heads = try config.integer("num_attention_heads", default: 64)
    c.modelDimension = d; c.heads = heads
    c.layers = try config.integer("num_hidden_layers", default: 12)
    let dff = try config.integer("intermediate_size", default: 16384)
    c.feedForwardDimension = dff
    let e = try config.integer("embedding_size", default: 128)
    c.block.embeddingSize = e
    let groups = try config.integer("num_hidden_groups", default: 1)
    guard c.layers % groups == 0 else { throw CheckpointError("\(config.path): num_hidden_groups \(groups) does not divide num_hidden_layers \(c.layers)") }
    c.block.sharedLayerGroups = groups
    let inner = try config.integer("inner_group_num", default: 1)
    guard inner == 1 else { throw CheckpointError("\(config.path): inner_group_num \(inner) is not supported (1)") }
    let positionType = try config.string("position_embedding_type", default: "absolute")
    guard positionType == "absolute" else { throw CheckpointError("\(config.path): position_embedding_type '\(positionType)' is not supported (absolute)") }
    c.layerNormEpsilon = Float(try config.number("layer_norm_eps", default: 1e-12))
    c.activation = try activation(try config.string("hidden_act", default: "gelu_new"), key: "hidden_act", config: config)
    try r.choosePrefix(among: ["", "albert."], anchor: "embeddings.word_embeddings.weight")
    let positions = try config.integer("max_position_embeddings", default: 512), types = try config.integer("type_vocab_size", default: 2)
    var embeddings = TrainedEmbeddings(words: try r.matrix("embeddings.word_embeddings.weight", columns: e, describing: "embedding_size \(e)"), width: e)
    embeddings.positions = try r.tensor("embeddings.position_embeddings.weight", [positions, e])
    embeddings.tokenType = Array(try r.tensor("embeddings.token_type_embeddings.weight", [types, e])[0..<e])
    embeddings.normGamma = try r.tensor("embeddings.LayerNorm.weight", [e]); embeddings.normBeta = try r.tensor("embeddings.LayerNorm.bias", [e])
    var projectionBias: [Float]?
    embeddings.projection = try r.linear("encoder.embedding_hidden_mapping_in", inputs: e, outputs: d, bias: true, into: &projectionBias)
    embeddings.projectionBias = projectionBias
    var layers: [LayerWeights] = []
    for g in 0..<groups {
      let p = "encoder.albert_layer_groups.\(g).albert_layers.0.", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.query = try r.linear(p + "attention.query", inputs: d, outputs: d, bias: true, into: &w.biasQuery)
      w.key = try r.linear(p + "attention.key", inputs: d, outputs: d, bias: true, into: &w.biasKey)
      w.value = try r.linear(p + "attention.value", inputs: d, outputs: d, bias: true, into: &w.biasValue)
      w.output = try r.linear(p + "attention.dense", inputs: d, outputs: d, bias: true, into: &w.biasOutput)
      w.gamma1 = try r.tensor(p + "attention.LayerNorm.weight", [d]); w.beta1 = try r.tensor(p + "attention.LayerNorm.bias", [d])
      w.feedForwardIn = try r.linear(p + "ffn", inputs: d, outputs: dff, bias: true, into: &w.biasFeedForwardIn)
      w.feedForwardOut = try r.linear(p + "ffn_output", inputs: dff, outputs: d, bias: true, into: &w.biasFeedForwardOut)
      w.gamma2 = try r.tensor(p + "full_layer_layer_norm.weight", [d]); w.beta2 = try r.tensor(p + "full_layer_layer_norm.bias", [d])
      layers.append(w)
    }
    r.ignore(prefixes: ["pooler.", "predictions.", "sop_classifier."], suffixes: ["position_ids", "token_type_ids"])
    return (c, embeddings, layers, nil)
  }
}

/// Reads named tensors from a directory's safetensors files, checking each
/// shape against what config.json implies and remembering which were used.
struct HuggingFaceTensorReader {
  let located: [String: (SafetensorsFile, TensorInfo)]
  let config: HuggingFaceConfig
  var prefix = ""
  private var used: Set<String> = []
  private var ignoredPrefixes: [String] = [], ignoredSuffixes: [String] = []

  init(files: [SafetensorsFile], config: HuggingFaceConfig) {
    var located: [String: (SafetensorsFile, TensorInfo)] = [:]
    for file in files { for (name, info) in file.tensors { located[name] = (file, info) } }
    self.located = located
    self.config = config
  }

  /// The prefix (e.g. `model.` for a model saved with its LM head) under which `anchor` exists.
  mutating func choosePrefix(among prefixes: [String], anchor: String) throws(CheckpointError) {
    guard let found = prefixes.first(where: { located[$0 + anchor] != nil }) else {
      throw CheckpointError("\(config.path): no tensor '\(anchor)' (looked for \(prefixes.map { "'\($0 + anchor)'" }.joined(separator: ", "))); model_type is \(config.modelType)")
    }
    prefix = found
  }

  /// The tensor `name` (under the prefix), which must have shape `shape`.
  mutating func tensor(_ name: String, _ shape: [Int]) throws(CheckpointError) -> [Float] {
    let full = prefix + name
    guard let (file, info) = located[full] else {
      throw CheckpointError("\(config.path): no tensor '\(full)' in the safetensors files (model_type \(config.modelType))")
    }
    if info.shape != shape {
      throw CheckpointError("\(file.url.lastPathComponent): tensor '\(full)' has shape \(info.shape), but config.json needs \(shape)")
    }
    used.insert(full)
    return try file.floats(info)
  }

  /// A [rows, columns] table whose row count the file decides (the vocabulary).
  mutating func matrix(_ name: String, columns: Int, describing: String) throws(CheckpointError) -> [Float] {
    guard let (file, info) = located[prefix + name] else { return try tensor(name, [0, columns]) }
    guard info.shape.count == 2, info.shape[1] == columns, info.shape[0] > 0 else {
      throw CheckpointError("\(file.url.lastPathComponent): tensor '\(prefix + name)' has shape \(info.shape), but config.json (\(describing)) needs [vocabulary, \(columns)]")
    }
    return try tensor(name, info.shape)
  }

  /// nn.Linear `name`.weight [out, in] as the engines' [in × out], and its bias when `bias`.
  mutating func linear(_ name: String, inputs: Int, outputs: Int, bias: Bool, into biasValues: inout [Float]?) throws(CheckpointError) -> [Float] {
    let stored = try tensor(name + ".weight", [outputs, inputs])
    if bias { biasValues = try tensor(name + ".bias", [outputs]) }
    return transposed(stored, rows: outputs, columns: inputs)
  }

  /// Tensors that are known not to be part of the base model (heads, buffers).
  mutating func ignore(prefixes: [String], suffixes: [String]) {
    ignoredPrefixes = prefixes; ignoredSuffixes = suffixes
  }

  /// Tensors neither used nor known extras: worth a warning.
  func unused() -> [String] {
    located.keys.filter { name in
      let bare = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
      return !used.contains(name) && !ignoredPrefixes.contains { bare.hasPrefix($0) || name.hasPrefix($0) }
        && !ignoredSuffixes.contains { name.hasSuffix($0) }
    }.sorted()
  }
}
