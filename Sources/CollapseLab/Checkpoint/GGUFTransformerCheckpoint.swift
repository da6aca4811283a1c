import Foundation

extension TrainedTransformer {
  /// The `general.architecture`s of GGUF files read here.
  public static let ggufArchitectures = ["gpt2", "llama"]

  /// Loads a GGUF file of architecture `llama` (Llama, SmolLM2, TinyLlama) or
  /// `gpt2`: the configuration from its metadata, every tensor dequantised to
  /// Float32, and its byte-level BPE tokenizer when it has one.
  ///
  /// llama.cpp's converter reorders the rows of each head of W_Q and W_K so
  /// that its RoPE rotates adjacent pairs (2i, 2i + 1); the forward pass here
  /// (as HF's) rotates the pairs (i, i + d_k/2), so the rows are put back:
  /// row 2i + s of a head in the file is row s·d_k/2 + i of HF's q_proj (HF's
  /// GGUF loader does the same, `reverse_permute`). GPT-2's fused QKV is
  /// stored as nn.Linear rows (the converter transposes Conv1D): q, k, v.
  public init(gguf path: String) throws(CheckpointError) {
    let file = try GGUFFile(path: path)
    let architecture = file.string("general.architecture") ?? "(none)"
    guard Self.ggufArchitectures.contains(architecture) else {
      throw CheckpointError("\(path): GGUF architecture '\(architecture)' is not supported (supported: \(Self.ggufArchitectures.joined(separator: ", ")); SmolLM2 and TinyLlama are llama)")
    }
    var reader = GGUFTensorReader(file: file)
    let loaded = architecture == "llama" ? try Self.llama(file, &reader) : try Self.gpt2(file, &reader)
    let (c, embeddings, layers, finalNorm) = loaded
    var ordinary: [Int32] = []
    let vocabulary = embeddings.wordCount
    if case .array(let types) = file.metadata["tokenizer.ggml.token_type"], types.count == vocabulary {
      for (id, type) in types.enumerated() where type.integer == 1 { ordinary.append(Int32(id)) }
    } else {
      ordinary = (0..<Int32(vocabulary)).map { $0 }
    }
    var tokenizer: ByteLevelBPETokenizer?, reason: SettingMessage?
    do { tokenizer = try ByteLevelBPETokenizer(gguf: file) } catch { reason = error.message }
    // SmolLM2's GGUF says its tokenizer adds no BOS; one that says so gets it first.
    let prepended = file.metadata["tokenizer.ggml.add_bos_token"]?.integer == 1 ? file.integer("tokenizer.ggml.bos_token_id").map { Int32($0) } : nil
    self.init(
      path: path, name: file.string("general.name") ?? URL(fileURLWithPath: path).lastPathComponent, sha256: file.sha256,
      format: "\(architecture) GGUF", configuration: c, embeddings: embeddings, layers: layers, finalNorm: finalNorm,
      ordinaryTokenIDs: ordinary, tokenizer: tokenizer, tokenizerUnavailableReason: reason, prependedTokenID: prepended,
      unusedTensors: reader.unused(known: ["output.weight", "rope_freqs.weight"]))
  }

  private static func llama(_ file: GGUFFile, _ r: inout GGUFTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    let path = file.path
    var c = Architecture.llama.configuration
    c.layers = try r.integer("llama.block_count")
    c.modelDimension = try r.integer("llama.embedding_length")
    c.heads = try r.integer("llama.attention.head_count")
    c.feedForwardDimension = try r.integer("llama.feed_forward_length")
    let kvHeads = file.integer("llama.attention.head_count_kv") ?? c.heads
    c.block.keyValueHeads = kvHeads
    c.layerNormEpsilon = Float(file.number("llama.attention.layer_norm_rms_epsilon") ?? 1e-5)
    c.block.ropeTheta = file.number("llama.rope.freq_base") ?? 10_000
    guard c.modelDimension % c.heads == 0, c.heads % kvHeads == 0 else {
      throw CheckpointError("\(path): d = \(c.modelDimension), \(c.heads) heads and \(kvHeads) key/value heads do not fit together")
    }
    if let rotary = file.integer("llama.rope.dimension_count") {
      c.block.rotaryFraction = Double(rotary) / Double(c.modelDimension / c.heads)
    }
    if file.metadata["llama.rope.scaling.type"] != nil || file.metadata["llama.rope.scaling.factor"] != nil {
      throw CheckpointError("\(path): RoPE scaling (llama.rope.scaling.*) is not supported")
    }
    let d = c.modelDimension, dff = c.feedForwardDimension, kv = c.keyValueWidth, dk = c.headDimension
    let embeddings = TrainedEmbeddings(words: try r.table("token_embd.weight", width: d), width: d)
    let finalNorm = try r.tensor("output_norm.weight", [d])
    let layers = try r.layers(c.layers) { l, r throws(CheckpointError) in
      let p = "blk.\(l).", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.query = try r.linear(p + "attn_q.weight", inputs: d, outputs: d, permutedHeads: c.heads, headWidth: dk)
      w.key = try r.linear(p + "attn_k.weight", inputs: d, outputs: kv, permutedHeads: kvHeads, headWidth: dk)
      w.value = try r.linear(p + "attn_v.weight", inputs: d, outputs: kv)
      w.output = try r.linear(p + "attn_output.weight", inputs: d, outputs: d)
      w.feedForwardGate = try r.linear(p + "ffn_gate.weight", inputs: d, outputs: dff)
      w.feedForwardIn = try r.linear(p + "ffn_up.weight", inputs: d, outputs: dff)
      w.feedForwardOut = try r.linear(p + "ffn_down.weight", inputs: dff, outputs: d)
      w.gamma1 = try r.tensor(p + "attn_norm.weight", [d])
      w.gamma2 = try r.tensor(p + "ffn_norm.weight", [d])
      for bias in ["attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias"] where r.file.tensor(named: p + bias) != nil {
        throw CheckpointError("\(path): tensor '\(p + bias)': attention biases are not supported in llama GGUF files")
      }
      return w
    }
    return (c, embeddings, layers, (finalNorm, nil))
  }

  private static func gpt2(_ file: GGUFFile, _ r: inout GGUFTensorReader) throws(CheckpointError)
    -> (ModelConfiguration, TrainedEmbeddings, [LayerWeights], (gamma: [Float], beta: [Float]?)?)
  {
    var c = Architecture.gpt2.configuration
    c.layers = try r.integer("gpt2.block_count")
    c.modelDimension = try r.integer("gpt2.embedding_length")
    c.heads = try r.integer("gpt2.attention.head_count")
    c.feedForwardDimension = try r.integer("gpt2.feed_forward_length")
    c.layerNormEpsilon = Float(file.number("gpt2.attention.layer_norm_epsilon") ?? 1e-5)
    let positions = try r.integer("gpt2.context_length")
    let d = c.modelDimension, dff = c.feedForwardDimension
    guard d % c.heads == 0 else { throw CheckpointError("\(file.path): d = \(d) is not divisible by \(c.heads) heads") }
    let embeddings = TrainedEmbeddings(
      words: try r.table("token_embd.weight", width: d), width: d, positions: try r.tensor("position_embd.weight", [d, positions]))
    let layers = try r.layers(c.layers) { l, r throws(CheckpointError) in
      let p = "blk.\(l).", w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.gamma1 = try r.tensor(p + "attn_norm.weight", [d]); w.beta1 = try r.tensor(p + "attn_norm.bias", [d])
      let fused = try r.linear(p + "attn_qkv.weight", inputs: d, outputs: 3 * d), fusedBias = try r.tensor(p + "attn_qkv.bias", [3 * d])
      let parts = splittingColumns(fused, rows: d, into: 3)
      w.query = parts[0]; w.key = parts[1]; w.value = parts[2]
      w.biasQuery = Array(fusedBias[0..<d]); w.biasKey = Array(fusedBias[d..<(2 * d)]); w.biasValue = Array(fusedBias[(2 * d)...])
      w.output = try r.linear(p + "attn_output.weight", inputs: d, outputs: d); w.biasOutput = try r.tensor(p + "attn_output.bias", [d])
      w.gamma2 = try r.tensor(p + "ffn_norm.weight", [d]); w.beta2 = try r.tensor(p + "ffn_norm.bias", [d])
      w.feedForwardIn = try r.linear(p + "ffn_up.weight", inputs: d, outputs: dff); w.biasFeedForwardIn = try r.tensor(p + "ffn_up.bias", [dff])
      w.feedForwardOut = try r.linear(p + "ffn_down.weight", inputs: dff, outputs: d); w.biasFeedForwardOut = try r.tensor(p + "ffn_down.bias", [d])
      return w
    }
    let final = (try r.tensor("output_norm.weight", [d]), Optional(try r.tensor("output_norm.bias", [d])))
    return (c, embeddings, layers, final)
  }
}

/// Reads a GGUF file's tensors by name, checking dimensions against the
/// metadata (GGUF lists them fastest-varying first: an nn.Linear [out, in] is
/// [in, out]) and remembering which were used.
struct GGUFTensorReader {
  let file: GGUFFile
  private var used: Set<String> = []

  init(file: GGUFFile) { self.file = file }

  func integer(_ key: String) throws(CheckpointError) -> Int {
    guard let value = file.integer(key), value > 0 else { throw CheckpointError("\(file.path): metadata \(key) missing or not a positive integer") }
    return value
  }

  mutating func tensor(_ name: String, _ expected: [Int]) throws(CheckpointError) -> [Float] {
    guard let info = file.tensor(named: name) else { throw CheckpointError("\(file.path): tensor '\(name)' missing") }
    guard info.dimensions == expected else {
      throw CheckpointError("\(file.path): tensor '\(name)' has dimensions \(info.dimensions), expected \(expected) from the metadata")
    }
    used.insert(name)
    return try file.floats(name)
  }

  /// A [width, vocabulary] table (vocabulary rows of `width` values).
  mutating func table(_ name: String, width: Int) throws(CheckpointError) -> [Float] {
    guard let info = file.tensor(named: name), info.dimensions.count == 2, info.dimensions[0] == width, info.dimensions[1] > 0 else {
      throw CheckpointError("\(file.path): tensor '\(name)' missing or not [\(width), vocabulary]")
    }
    return try tensor(name, info.dimensions)
  }

  /// A matrix listed [in, out] (out rows of `in` values: nn.Linear's [out, in]) as [in × out].
  mutating func linear(_ name: String, inputs: Int, outputs: Int, permutedHeads: Int? = nil, headWidth: Int = 0) throws(CheckpointError) -> [Float] {
    var rows = try tensor(name, [inputs, outputs])
    if let heads = permutedHeads { rows = unpermutingRotaryRows(rows, heads: heads, headWidth: headWidth, columns: inputs) }
    return transposed(rows, rows: outputs, columns: inputs)
  }

  /// `count` layers read by `body` on all cores (dequantising is most of a
  /// load), each with its own reader; the first failure in layer order is thrown.
  mutating func layers(
    _ count: Int, _ body: (Int, inout GGUFTensorReader) throws(CheckpointError) -> LayerWeights
  ) throws(CheckpointError) -> [LayerWeights] {
    let results = UnsafeMutableBufferPointer<Result<(LayerWeights, Set<String>), CheckpointError>?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deinitialize(); results.deallocate() }
    let file = self.file
    withoutActuallyEscaping(body) { body in
      // Each iteration writes only its own slot; concurrentPerform returns after all of them.
      nonisolated(unsafe) let body = body, results = results
      DispatchQueue.concurrentPerform(iterations: count) { l in
        var reader = GGUFTensorReader(file: file)
        do throws(CheckpointError) {
          let weights = try body(l, &reader)
          results[l] = .success((weights, reader.used))
        } catch {
          results[l] = .failure(error)
        }
      }
    }
    var layers: [LayerWeights] = []
    for result in results {
      let (weights, names) = try result!.get()
      layers.append(weights)
      used.formUnion(names)
    }
    return layers
  }

  /// Tensors neither used nor `known` extras (the output head).
  func unused(known: [String]) -> [String] {
    file.tensors.map(\.name).filter { !used.contains($0) && !known.contains($0) }.sorted()
  }
}

/// Undoes llama.cpp's Q/K row order: within each head, file row 2i + s is
/// row s·w/2 + i (w the head width). `rows`: heads·w rows of `columns` values.
func unpermutingRotaryRows(_ rows: [Float], heads: Int, headWidth w: Int, columns: Int) -> [Float] {
  var out = rows
  for h in 0..<heads {
    for i in 0..<(w / 2) {
      for s in 0..<2 {
        let from = (h * w + 2 * i + s) * columns, to = (h * w + s * (w / 2) + i) * columns
        for j in 0..<columns { out[to + j] = rows[from + j] }
      }
    }
  }
  return out
}
