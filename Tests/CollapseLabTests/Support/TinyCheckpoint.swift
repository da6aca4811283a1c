@testable import CollapseLab
import Foundation
import RankKernels

/// How a tiny checkpoint names its tensors.
enum NamingScheme: CaseIterable, Sendable {
  /// all-MiniLM-L6-v2: `encoder.layer.N…`, LayerNorm `.weight`/`.bias`.
  case plain
  /// bert-base-uncased: a `bert.` prefix, LayerNorm `.gamma`/`.beta`, plus `cls.*` and `pooler.*`.
  case prefixedGammaBeta
}

/// A random BERT checkpoint directory: config.json, model.safetensors,
/// vocab.txt, tokenizer_config.json. Weights N(0, 0.2²) (larger than HF's
/// 0.02 so that a wrong layout or transpose changes every metric), LayerNorm
/// γ = 1 + N(0, 0.1²).
struct TinyCheckpoint {
  var configuration = BertConfiguration(
    hiddenSize: 16, layers: 2, heads: 4, intermediateSize: 32, activation: .gelu, layerNormEpsilon: 1e-12,
    maxPositions: 24, typeVocabularySize: 2, vocabularySize: tinyVocabulary.count, name: "tiny-bert")
  var naming = NamingScheme.plain
  var dataType = TensorDataType.f32
  var seed: UInt64 = 5

  /// The tensors in stored layout, by their logical (plain) names.
  func tensors() -> [(BertTensor, [Int], [Float])] {
    BertTensor.all(layers: configuration.layers).map { tensor in
      let shape = tensor.storedShape(configuration)
      var values = [Float](repeating: 0, count: shape.reduce(1, *))
      values.withUnsafeMutableBufferPointer {
        RandomStream(seed: seed, stream: UInt64(tensor.index)).fillNormal($0.baseAddress!, count: $0.count, standardDeviation: 0.2)
      }
      if tensor.name.hasSuffix("LayerNorm.weight") { values = values.map { 1 + $0 / 2 } }
      // Round to the stored dtype, so the expected values are what the file holds.
      switch dataType {
      case .bf16: values = values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
      case .f16: values = values.map { Float(Float16($0)) }
      default: break
      }
      return (tensor, shape, values)
    }
  }

  func storedName(_ logical: String) -> String {
    switch naming {
    case .plain: return logical
    case .prefixedGammaBeta:
      return "bert." + logical.replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")
        .replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")
    }
  }

  func configJSON(modelType: String = "bert") -> String {
    let c = configuration
    return """
      {"_name_or_path": "\(c.name ?? "")", "model_type": "\(modelType)", "hidden_size": \(c.hiddenSize),
       "num_hidden_layers": \(c.layers), "num_attention_heads": \(c.heads), "intermediate_size": \(c.intermediateSize),
       "hidden_act": "\(c.activation.rawValue)", "layer_norm_eps": \(c.layerNormEpsilon), "max_position_embeddings": \(c.maxPositions),
       "type_vocab_size": \(c.typeVocabularySize), "vocab_size": \(c.vocabularySize)}
      """
  }

  /// Writes the directory and returns it.
  @discardableResult
  func write(to directory: URL) throws -> URL {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var toWrite = tensors().map { TensorToWrite(name: storedName($0.0.name), dataType: dataType, shape: $0.1, values: $0.2) }
    // The I64 buffer real checkpoints carry, which must be skipped.
    let positions = (0..<configuration.maxPositions).flatMap { p in withUnsafeBytes(of: Int64(p).littleEndian) { Array($0) } }
    toWrite.insert(TensorToWrite(name: storedName("embeddings.position_ids"), dataType: .i64, shape: [1, configuration.maxPositions], values: [], raw: positions), at: 0)
    if naming == .prefixedGammaBeta {
      let d = configuration.hiddenSize
      toWrite.append(TensorToWrite(name: "bert.pooler.dense.weight", dataType: dataType, shape: [d, d], values: [Float](repeating: 0.5, count: d * d)))
      toWrite.append(TensorToWrite(name: "cls.predictions.bias", dataType: dataType, shape: [configuration.vocabularySize], values: [Float](repeating: 0, count: configuration.vocabularySize)))
    }
    try Data(safetensorsBytes(toWrite)).write(to: directory.appendingPathComponent("model.safetensors"))
    try Data(configJSON().utf8).write(to: directory.appendingPathComponent("config.json"))
    try Data((tinyVocabulary.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("vocab.txt"))
    try Data(#"{"do_lower_case": true, "strip_accents": null}"#.utf8).write(to: directory.appendingPathComponent("tokenizer_config.json"))
    return directory
  }
}

/// HF's BertTokenizer unit-test vocabulary (ids 0…14) plus a few words, so
/// that short texts give several windows.
let tinyVocabulary = [
  "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",", "low", "lowest",
  "the", "dog", "is", "cute", ".", "a", "cat", "sat", "on", "mat", "[unused0]",
]
