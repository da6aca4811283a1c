@testable import CollapseLab
import Foundation
import Testing

/// A tiny Hugging Face directory written here: config.json and one
/// model.safetensors whose every value is distinct (value = tensor number +
/// position / 10⁴), so that a wrong split, transpose or name shows.
struct TinyHuggingFaceDirectory {
  var config: [String: Any]
  var tensors: [(String, [Int])]
  var drop: Set<String> = []
  var reshape: [String: [Int]] = [:]

  static func gpt2(d: Int = 8, layers: Int = 2, positions: Int = 6, vocabulary: Int = 20, dff: Int = 12) -> Self {
    var tensors: [(String, [Int])] = [("wte.weight", [vocabulary, d]), ("wpe.weight", [positions, d])]
    for l in 0..<layers {
      let p = "h.\(l)."
      tensors += [
        (p + "ln_1.weight", [d]), (p + "ln_1.bias", [d]), (p + "attn.c_attn.weight", [d, 3 * d]), (p + "attn.c_attn.bias", [3 * d]),
        (p + "attn.c_proj.weight", [d, d]), (p + "attn.c_proj.bias", [d]), (p + "ln_2.weight", [d]), (p + "ln_2.bias", [d]),
        (p + "mlp.c_fc.weight", [d, dff]), (p + "mlp.c_fc.bias", [dff]), (p + "mlp.c_proj.weight", [dff, d]), (p + "mlp.c_proj.bias", [d]),
        (p + "attn.bias", [1, 1, positions, positions]),  // a causal-mask buffer old checkpoints keep
      ]
    }
    tensors += [("ln_f.weight", [d]), ("ln_f.bias", [d])]
    return Self(
      config: ["model_type": "gpt2", "n_embd": d, "n_layer": layers, "n_head": 2, "n_inner": dff, "n_positions": positions,
               "vocab_size": vocabulary, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5],
      tensors: tensors)
  }

  static func llama(d: Int = 8, layers: Int = 2, vocabulary: Int = 20, dff: Int = 12, heads: Int = 4, kvHeads: Int = 2) -> Self {
    let kv = kvHeads * d / heads
    var tensors: [(String, [Int])] = [("model.embed_tokens.weight", [vocabulary, d])]
    for l in 0..<layers {
      let p = "model.layers.\(l)."
      tensors += [
        (p + "input_layernorm.weight", [d]), (p + "self_attn.q_proj.weight", [d, d]), (p + "self_attn.k_proj.weight", [kv, d]),
        (p + "self_attn.v_proj.weight", [kv, d]), (p + "self_attn.o_proj.weight", [d, d]), (p + "post_attention_layernorm.weight", [d]),
        (p + "mlp.gate_proj.weight", [dff, d]), (p + "mlp.up_proj.weight", [dff, d]), (p + "mlp.down_proj.weight", [d, dff]),
      ]
    }
    tensors += [("model.norm.weight", [d]), ("lm_head.weight", [vocabulary, d])]
    return Self(
      config: ["model_type": "llama", "hidden_size": d, "num_hidden_layers": layers, "num_attention_heads": heads,
               "num_key_value_heads": kvHeads, "intermediate_size": dff, "rms_norm_eps": 1e-6, "rope_theta": 500_000.0,
               "vocab_size": vocabulary, "bos_token_id": 1, "eos_token_id": 2],
      tensors: tensors)
  }

  /// The value of position `i` of tensor number `t`.
  static func value(tensor t: Int, position i: Int) -> Float { Float(t) + Float(i) * 1e-4 }

  func write() throws -> URL {
    let directory = temporaryDirectory("tiny-hf")
    var written: [TensorToWrite] = []
    for (t, (name, shape)) in tensors.enumerated() where !drop.contains(name) {
      let actual = reshape[name] ?? shape
      let count = actual.reduce(1, *)
      written.append(TensorToWrite(name: name, dataType: .f32, shape: actual, values: (0..<count).map { Self.value(tensor: t, position: $0) }))
    }
    try Data(safetensorsBytes(written)).write(to: directory.appendingPathComponent("model.safetensors"))
    try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
    return directory
  }

  func index(of name: String) -> Int { tensors.firstIndex { $0.0 == name }! }
}

@Suite("Trained Transformers from Hugging Face directories", .temporaryDirectories)
struct TrainedTransformerTests {
  @Test func gpt2SplitsTheFusedProjectionAndKeepsConv1DLayout() throws {
    let tiny = TinyHuggingFaceDirectory.gpt2()
    let directory = try tiny.write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    let c = model.configuration, d = 8
    #expect(c.architecture == .gpt2 && c.layers == 2 && c.modelDimension == d && c.feedForwardDimension == 12)
    #expect(c.block.normPosition == .pre && c.block.finalNorm == .layer && c.activation == .geluTanh)
    #expect(model.vocabularySize == 20 && model.maximumSequenceLength == 6)
    // c_attn [d, 3d]: column j of q is column j, of k d + j, of v 2d + j; Conv1D is already [in × out].
    let attention = tiny.index(of: "h.1.attn.c_attn.weight"), layer = model.layers[1]
    for (i, j) in [(0, 0), (3, 5), (7, 7)] {
      #expect(layer.query[i * d + j] == TinyHuggingFaceDirectory.value(tensor: attention, position: i * 3 * d + j))
      #expect(layer.key[i * d + j] == TinyHuggingFaceDirectory.value(tensor: attention, position: i * 3 * d + d + j))
      #expect(layer.value[i * d + j] == TinyHuggingFaceDirectory.value(tensor: attention, position: i * 3 * d + 2 * d + j))
    }
    let bias = tiny.index(of: "h.1.attn.c_attn.bias")
    #expect(layer.biasValue?[2] == TinyHuggingFaceDirectory.value(tensor: bias, position: 2 * d + 2))
    let output = tiny.index(of: "h.1.attn.c_proj.weight")
    #expect(layer.output[3 * d + 1] == TinyHuggingFaceDirectory.value(tensor: output, position: 3 * d + 1))
    #expect(model.unusedTensors.isEmpty, "the attn.bias buffers are known extras: \(model.unusedTensors)")
    // X₀ = wte[id] + wpe[i].
    let x = model.embed([4, 0], noise: nil)
    let wte = tiny.index(of: "wte.weight"), wpe = tiny.index(of: "wpe.weight")
    #expect(x[d + 3] == TinyHuggingFaceDirectory.value(tensor: wte, position: 3) + TinyHuggingFaceDirectory.value(tensor: wpe, position: d + 3))
  }

  /// Fuzzing found a special-token id above Int32.max trapping on conversion
  /// (config-json target, 2026-12-06); such an id lies outside every vocabulary.
  @Test func specialTokenIDsBeyondInt32AreIgnored() throws {
    var tiny = TinyHuggingFaceDirectory.gpt2()
    tiny.config["bos_token_id"] = 2_222_222_250_256
    tiny.config["eos_token_id"] = 3
    let directory = try tiny.write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    #expect(model.ordinaryTokenIDs == (0..<20).filter { $0 != 3 })
  }

  @Test func llamaWithItsHeadReadsThePrefixedNamesAndTransposesLinears() throws {
    let tiny = TinyHuggingFaceDirectory.llama()
    let directory = try tiny.write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    let c = model.configuration
    #expect(c.keyValueHeads == 2 && c.block.ropeTheta == 500_000 && c.layerNormEpsilon == 1e-6 && c.activation == .swiglu)
    #expect(model.unusedTensors.isEmpty && model.maximumSequenceLength == nil)
    // k_proj [kv, d] (nn.Linear [out, in]) held as [d × kv].
    let key = tiny.index(of: "model.layers.0.self_attn.k_proj.weight"), kv = 4
    #expect(model.layers[0].key[5 * kv + 3] == TinyHuggingFaceDirectory.value(tensor: key, position: 3 * 8 + 5))
    #expect(!model.ordinaryTokenIDs.contains(1) && !model.ordinaryTokenIDs.contains(2) && model.ordinaryTokenIDs.count == 18)
    #expect(model.tokenizer == nil && model.tokenizerUnavailableReason?.description.contains("no tokenizer.json") == true)
  }

  @Test func perturbationChangesEveryTensorByItsScaleAndLeavesTheHeldWeights() throws {
    let directory = try TinyHuggingFaceDirectory.gpt2().write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    let original = model.layers[0].query
    let noise = ParameterNoise(sample: 3, seed: 9, size: 0.01, rootMeanSquares: model.rootMeanSquares)
    let perturbed = model.layer(0, noise: noise)
    #expect(model.layers[0].query == original)
    for field in LayerField.allCases {
      guard let held = field.values(in: model.layers[0]), let changed = field.values(in: perturbed) else { continue }
      let rms = model.rootMeanSquares[HeldTensor.layer(0, field).index]!
      let change = zip(held, changed).map { Double($1 - $0) }
      let changeRMS = (change.map { $0 * $0 }.reduce(0, +) / Double(change.count)).squareRoot()
      // ε·rms(T) times the rms of held.count normals: within a factor of 2 for ≥ 8 values.
      #expect(changeRMS > 0.4 * 0.01 * rms && changeRMS < 2 * 0.01 * rms, "\(field)")
    }
    let again = model.layer(0, noise: noise)
    #expect(again.query == perturbed.query)
    let indices = HeldTensor.all(groups: 30).map(\.index)
    #expect(Set(indices).count == indices.count && indices.max()! < 1 << 15)
  }

  @Test(arguments: [
    ("shape", "h.0.mlp.c_fc.weight' has shape [12, 8], but config.json needs [8, 12]"),
    ("missing", "no tensor 'h.1.ln_2.bias'"),
    ("model_type", "model_type 'mamba' is not supported (supported: bert, albert, gpt2, gpt_neox, llama)"),
    ("inverse scaling", "scale_attn_by_inverse_layer_idx"),
    ("activation", "activation_function 'swish' is not supported"),
    ("vocabulary", "vocab_size 21, but the word embedding table has 20 rows"),
    // 4·n_embd, n_inner's default, overflowed Int for widths near Int.max.
    ("huge width", "'n_embd' must be a positive integer up to 2³¹, got 4611686018427387904"),
  ])
  func refusesBadGPT2Directories(problem: String, message: String) throws {
    var tiny = TinyHuggingFaceDirectory.gpt2()
    switch problem {
    case "shape": tiny.reshape["h.0.mlp.c_fc.weight"] = [12, 8]
    case "missing": tiny.drop.insert("h.1.ln_2.bias")
    case "model_type": tiny.config["model_type"] = "mamba"
    case "inverse scaling": tiny.config["scale_attn_by_inverse_layer_idx"] = true
    case "activation": tiny.config["activation_function"] = "swish"
    case "huge width": tiny.config["n_embd"] = 1 << 62; tiny.config.removeValue(forKey: "n_inner")
    default: tiny.config["vocab_size"] = 21
    }
    let directory = try tiny.write()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect {
      _ = try TrainedTransformer(huggingFaceDirectory: directory)
    } throws: { ($0 as? CheckpointError)?.description.contains(message) == true }
  }

  @Test(arguments: [
    ("rope_scaling", "rope_scaling rope_type 'llama3' is not supported"),
    ("head_dim", "head_dim 4 differs from hidden_size / num_attention_heads = 2"),
    ("num_key_value_heads", "do not fit together"),
    ("hidden_act", "hidden_act 'gelu' is not supported for llama"),
  ])
  func refusesLlamaConfigurationsItCannotRun(key: String, message: String) throws {
    var tiny = TinyHuggingFaceDirectory.llama()
    let values: [String: Any] = [
      "rope_scaling": ["rope_type": "llama3", "factor": 8.0], "head_dim": 4, "num_key_value_heads": 3, "hidden_act": "gelu",
    ]
    tiny.config[key] = values[key]
    let directory = try tiny.write()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect {
      _ = try TrainedTransformer(huggingFaceDirectory: directory)
    } throws: { ($0 as? CheckpointError)?.description.contains(message) == true }
  }

  @Test func splittingColumnsUndoesConcatenation() {
    let fused: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]  // 2 rows × (3 parts × 2)
    #expect(splittingColumns(fused, rows: 2, into: 3) == [[1, 2, 7, 8], [3, 4, 9, 10], [5, 6, 11, 12]])
  }
}

@Suite("tokenizer.json", .temporaryDirectories)
struct TokenizerJSONTests {
  static func description(preTokenizer: Any, extra: [String: Any] = [:], model: [String: Any] = [:]) throws -> TokenizerJSON {
    var m: [String: Any] = ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": [["a", "b"]]]
    for (k, v) in model { m[k] = v }
    var root: [String: Any] = [
      "model": m, "pre_tokenizer": preTokenizer, "normalizer": NSNull(),
      "added_tokens": [["id": 3, "content": "<s>", "special": true]],
    ]
    for (k, v) in extra { root[k] = v }
    return try TokenizerJSON(data: try JSONSerialization.data(withJSONObject: root), path: "tokenizer.json")
  }

  static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true] }

  @Test func recognisesTheImplementedPreTokenizers() throws {
    #expect(try Self.description(preTokenizer: Self.byteLevel).preTokenizer == .gpt2)
    let smollm: [String: Any] = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], Self.byteLevel]]
    #expect(try Self.description(preTokenizer: smollm).preTokenizer == .smollm)
    let llama: [String: Any] = ["type": "Sequence", "pretokenizers": [
      ["type": "Split", "pattern": ["Regex": ByteLevelBPETokenizer.PreTokenizer.llamaBPE.pattern], "behavior": "Isolated", "invert": false],
      ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false],
    ]]
    #expect(try Self.description(preTokenizer: llama).preTokenizer == .llamaBPE)
    let prefixed: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "use_regex": true]
    let unknown = try Self.description(preTokenizer: prefixed)
    #expect(unknown.preTokenizer == nil && unknown.preTokenizerProblem?.description.contains("is not one implemented") == true)
  }

  @Test func readsTokensMergesSpecialTokensAndTheBOSTemplate() throws {
    let template: [String: Any] = ["type": "TemplateProcessing", "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]]]
    let d = try Self.description(preTokenizer: Self.byteLevel, extra: ["post_processor": template])
    #expect(d.tokens == ["a", "b", "ab", "<s>"] && d.merges == ["a b"] && d.specialTokenIDs == [3] && d.prependedTokenID == 3)
    #expect(try Self.description(preTokenizer: Self.byteLevel).prependedTokenID == nil)
  }

  @Test(arguments: [
    ("unigram", "tokenizer model type 'Unigram' is not implemented"),
    ("normalizer", "normalizer 'NFC' is not implemented"),
    ("byte fallback", "byte_fallback"),
  ])
  func refusesWhatItDoesNotImplement(problem: String, message: String) {
    #expect {
      switch problem {
      case "unigram": _ = try Self.description(preTokenizer: Self.byteLevel, model: ["type": "Unigram"])
      case "normalizer": _ = try Self.description(preTokenizer: Self.byteLevel, extra: ["normalizer": ["type": "NFC"]])
      default: _ = try Self.description(preTokenizer: Self.byteLevel, model: ["byte_fallback": true])
      }
    } throws: { ($0 as? CheckpointError)?.description.contains(message) == true }
  }
}

@Suite("Claims on trained Transformers", .temporaryDirectories)
struct TrainedTransformerClaimsTests {
  @Test func initialisationIsTheArchitecturesHuggingFaceDraw() throws {
    let directory = try TinyHuggingFaceDirectory.gpt2(d: 32, dff: 64).write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    let initial = model.huggingFaceInitialisation(seed: 4)
    let layer = initial.layers[1], d = 32.0
    let rms = { (v: [Float]) in (v.map { Double($0) * Double($0) }.reduce(0, +) / Double(v.count)).squareRoot() }
    #expect(abs(rms(layer.query) - 0.02) < 0.003 && abs(rms(initial.embeddings.words) - 0.02) < 0.003)
    // GPT-2 scales its residual projections by 1/√(2L) at L = 2.
    #expect(abs(rms(layer.output) - 0.01) < 0.0015)
    #expect(layer.biasQuery == nil && layer.gamma1 == nil && initial.finalNorm?.gamma == [Float](repeating: 1, count: Int(d)))
    #expect(initial.configuration == model.configuration && initial.vocabularySize == model.vocabularySize)
    #expect(model.huggingFaceInitialisation(seed: 4).layers[0].key == initial.layers[0].key)
    #expect(model.huggingFaceInitialisation(seed: 5).layers[0].key != initial.layers[0].key)
  }

  @Test func reportRunsClaimsOneToThreeWithTheFigure() throws {
    let directory = try TinyHuggingFaceDirectory.llama(d: 16, vocabulary: 40, dff: 24, heads: 4, kvHeads: 2).write()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try TrainedTransformer(huggingFaceDirectory: directory)
    let setup = TrainedTransformerClaimsSetup(
      checkpoint: model, windows: nil, randomCount: 6, textPath: nil, textSHA256: nil, sequenceLength: 8, perturbation: 0.01,
      perturbationSamples: 4, seed: 1)
    let sections = setup.sections()
    #expect(sections.map(\.number) == [1, 2, 3])
    #expect(sections[2].attachments.first?.name == "dong-figure2.svg" && sections[2].findings.contains { $0.contains("trained + 0.01·rms(T)·G, 4 samples") })
    #expect(setup.reportHeader.contains("`attn+preln`") && setup.sequences.allSatisfy { Set($0).count == 8 })
  }
}
