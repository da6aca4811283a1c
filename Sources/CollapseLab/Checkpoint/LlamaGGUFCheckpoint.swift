import Foundation

/// A trained Llama-family decoder (Llama, SmolLM2, TinyLlama) read from a
/// GGUF file: its configuration from the metadata, every tensor dequantised
/// to Float32, the layers as the engines' `LayerWeights` ([in × out]
/// row-major), and the token embedding table.
///
/// llama.cpp's converter reorders the rows of each head of W_Q and W_K so
/// that its RoPE rotates adjacent pairs (2i, 2i + 1); the forward pass here
/// (as HF's) rotates the pairs (i, i + d_k/2), so the rows are put back:
/// row 2i + s of a head in the file is row s·d_k/2 + i of HF's q_proj (HF's
/// GGUF loader does the same, `reverse_permute`).
public struct LlamaGGUFCheckpoint: @unchecked Sendable {
  public let path: String
  public let name: String
  public let sha256: String
  /// The parsed file (memory-mapped): its tokenizer metadata serves `--text`.
  public let file: GGUFFile
  /// The model's configuration: the `llama` preset with the file's widths, ε and θ.
  public let configuration: ModelConfiguration
  public let vocabularySize: Int
  /// Token ids whose `tokenizer.ggml.token_type` is 1 (normal): the candidates of random-token inputs.
  public let normalTokenIDs: [Int32]
  let layers: [LayerWeights]
  let finalNorm: [Float]
  /// vocabulary × d, row-major.
  let embeddings: [Float]

  public init(path: String) throws(CheckpointError) {
    let file = try GGUFFile(path: path)
    let architecture = file.string("general.architecture") ?? "(none)"
    guard architecture == "llama" else {
      throw CheckpointError("\(path): GGUF architecture '\(architecture)' is not supported (llama is; SmolLM2 and TinyLlama use it)")
    }
    func integer(_ key: String) throws(CheckpointError) -> Int {
      guard let value = file.integer("llama." + key), value > 0 else { throw CheckpointError("\(path): metadata llama.\(key) missing or not a positive integer") }
      return value
    }
    var c = Architecture.llama.configuration
    c.layers = try integer("block_count")
    c.modelDimension = try integer("embedding_length")
    c.heads = try integer("attention.head_count")
    c.feedForwardDimension = try integer("feed_forward_length")
    let kvHeads = file.integer("llama.attention.head_count_kv") ?? c.heads
    c.block.keyValueHeads = kvHeads
    c.layerNormEpsilon = Float(file.number("llama.attention.layer_norm_rms_epsilon") ?? 1e-5)
    c.block.ropeTheta = file.number("llama.rope.freq_base") ?? 10_000
    if let rotary = file.integer("llama.rope.dimension_count"), c.modelDimension % c.heads == 0 {
      c.block.rotaryFraction = Double(rotary) / Double(c.modelDimension / c.heads)
    }
    if file.metadata["llama.rope.scaling.type"] != nil || file.metadata["llama.rope.scaling.factor"] != nil {
      throw CheckpointError("\(path): RoPE scaling (llama.rope.scaling.*) is not supported")
    }
    guard c.modelDimension % c.heads == 0, c.heads % kvHeads == 0 else {
      throw CheckpointError("\(path): d = \(c.modelDimension), \(c.heads) heads and \(kvHeads) key/value heads do not fit together")
    }
    configuration = c
    self.path = path
    name = file.string("general.name") ?? URL(fileURLWithPath: path).lastPathComponent
    let d = c.modelDimension, dff = c.feedForwardDimension, kv = c.keyValueWidth, dk = c.headDimension

    func tensor(_ name: String, _ expected: [Int]) throws(CheckpointError) -> [Float] {
      guard let info = file.tensor(named: name) else { throw CheckpointError("\(path): tensor '\(name)' missing") }
      guard info.dimensions == expected else {
        throw CheckpointError("\(path): tensor '\(name)' has dimensions \(info.dimensions), expected \(expected) from the metadata")
      }
      return try file.floats(name)
    }
    /// A GGUF matrix listed [in, out] (out rows of `in` values: nn.Linear's [out, in]) as [in × out].
    func linear(_ name: String, inputs: Int, outputs: Int, permutedHeads: Int? = nil) throws(CheckpointError) -> [Float] {
      var rows = try tensor(name, [inputs, outputs])
      if let heads = permutedHeads { rows = unpermutingRotaryRows(rows, heads: heads, headWidth: dk, columns: inputs) }
      return transposed(rows, rows: outputs, columns: inputs)
    }
    guard let embeddingInfo = file.tensor(named: "token_embd.weight"), embeddingInfo.dimensions.count == 2, embeddingInfo.dimensions[0] == d else {
      throw CheckpointError("\(path): tensor 'token_embd.weight' missing or not [\(d), vocabulary]")
    }
    vocabularySize = embeddingInfo.dimensions[1]
    embeddings = try file.floats("token_embd.weight")
    finalNorm = try tensor("output_norm.weight", [d])
    var layers: [LayerWeights] = []
    for l in 0..<c.layers {
      let p = "blk.\(l)."
      let w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
      w.query = try linear(p + "attn_q.weight", inputs: d, outputs: d, permutedHeads: c.heads)
      w.key = try linear(p + "attn_k.weight", inputs: d, outputs: kv, permutedHeads: kvHeads)
      w.value = try linear(p + "attn_v.weight", inputs: d, outputs: kv)
      w.output = try linear(p + "attn_output.weight", inputs: d, outputs: d)
      w.feedForwardGate = try linear(p + "ffn_gate.weight", inputs: d, outputs: dff)
      w.feedForwardIn = try linear(p + "ffn_up.weight", inputs: d, outputs: dff)
      w.feedForwardOut = try linear(p + "ffn_down.weight", inputs: dff, outputs: d)
      w.gamma1 = try tensor(p + "attn_norm.weight", [d])
      w.gamma2 = try tensor(p + "ffn_norm.weight", [d])
      for bias in ["attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias"] where file.tensor(named: p + bias) != nil {
        throw CheckpointError("\(path): tensor '\(p + bias)': attention biases are not supported")
      }
      layers.append(w)
    }
    self.layers = layers
    var normal: [Int32] = []
    if case .array(let types) = file.metadata["tokenizer.ggml.token_type"], types.count == vocabularySize {
      for (id, type) in types.enumerated() where type.integer == 1 { normal.append(Int32(id)) }
    } else {
      normal = (0..<vocabularySize).map { Int32($0) }
    }
    normalTokenIDs = normal
    sha256 = file.sha256
    self.file = file
  }

  /// X₀: the embedding rows of `ids` (n × d); Llama adds no positions and no scale.
  func embed(_ ids: [Int32]) -> [Float] {
    let d = configuration.modelDimension
    var x = [Float](repeating: 0, count: ids.count * d)
    for (i, id) in ids.enumerated() {
      let row = Int(id) * d
      for j in 0..<d { x[i * d + j] = embeddings[row + j] }
    }
    return x
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
