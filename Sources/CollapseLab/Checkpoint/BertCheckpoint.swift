import Crypto
import Foundation

/// A Hugging Face BERT model directory, loaded: config.json, the weights of
/// model.safetensors (or the shards of model.safetensors.index.json) and the
/// WordPiece tokenizer of vocab.txt + tokenizer_config.json.
///
/// Weight names may carry a `bert.` prefix (checkpoints saved from a model
/// with heads) and LayerNorm parameters may be `.gamma`/`.beta`; `pooler.*`,
/// `cls.*` and `embeddings.position_ids` are not used. The weights are used
/// exactly as stored: no LayerNorm folding, no centring (TransformerLens does
/// both by default, and both change rank answers).
public struct BertCheckpoint: Sendable {
  public var directory: URL
  public var configuration: BertConfiguration
  public var parameters: BertParameters
  public var tokenizer: WordPieceTokenizer
  /// SHA-256 (hex) of model.safetensors, or of each shard in index order joined by ','.
  public var modelSHA256: String
  /// Tensors in the files that the encoder does not use and that are not
  /// known extras (pooler, heads, position_ids): worth a warning.
  public var unusedTensors: [String]

  /// config.json's `_name_or_path`, or the directory's name.
  public var name: String { configuration.name ?? directory.lastPathComponent }

  /// Loads and checks `directory`; every failure is one line naming the file,
  /// tensor and values.
  public init(directory: URL) throws(CheckpointError) {
    let path = directory.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CheckpointError("\(.checkpoint) \(path): no such directory")
    }
    self.directory = directory
    configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
    let files = try safetensorsWeightFiles(in: directory)
    var located: [String: (SafetensorsFile, TensorInfo)] = [:]
    for file in files { for (name, info) in file.tensors { located[name] = (file, info) } }
    let c = configuration
    var used: Set<String> = []
    func read(_ tensor: BertTensor) throws(CheckpointError) -> [Float] {
      let logical = tensor.name
      var candidates = [logical, "bert." + logical]
      for (suffix, replacement) in [("LayerNorm.weight", "LayerNorm.gamma"), ("LayerNorm.bias", "LayerNorm.beta")]
      where logical.hasSuffix(suffix) {
        let renamed = String(logical.dropLast(suffix.count)) + replacement
        candidates += [renamed, "bert." + renamed]
      }
      guard let name = candidates.first(where: { located[$0] != nil }), let (file, info) = located[name] else {
        throw CheckpointError("\(files.map(\.url.lastPathComponent).joined(separator: ", ")): no tensor '\(logical)' (also looked for \(candidates.dropFirst().map { "'\($0)'" }.joined(separator: ", "))); config.json has num_hidden_layers \(c.layers)")
      }
      let expected = tensor.storedShape(c)
      if info.shape != expected {
        throw CheckpointError("\(file.url.lastPathComponent): tensor '\(name)' has shape \(info.shape), but config.json (hidden_size \(c.hiddenSize), intermediate_size \(c.intermediateSize), vocab_size \(c.vocabularySize), max_position_embeddings \(c.maxPositions), type_vocab_size \(c.typeVocabularySize)) needs \(expected)")
      }
      used.insert(name)
      return try file.floats(info)
    }
    var rootMeanSquares = [Double](repeating: 0, count: BertTensor.all(layers: c.layers).count)
    func readMeasured(_ tensor: BertTensor) throws(CheckpointError) -> [Float] {
      let values = try read(tensor)
      rootMeanSquares[tensor.index] = rootMeanSquare(values)
      return values
    }
    var embeddingValues: [BertEmbeddingTensor: [Float]] = [:]
    for t in BertEmbeddingTensor.allCases { embeddingValues[t] = try readMeasured(.embedding(t)) }
    let embeddings = BertEmbeddingParameters(
      word: embeddingValues[.word]!, position: embeddingValues[.position]!, tokenType: embeddingValues[.tokenType]!,
      normGamma: embeddingValues[.normWeight]!, normBeta: embeddingValues[.normBias]!)
    var layers: [BertLayerParameters] = []
    for l in 0..<c.layers {
      var values: [BertLayerTensor: [Float]] = [:]
      for t in BertLayerTensor.allCases {
        let stored = try readMeasured(.layer(l, t))
        if t.isMatrix {
          let shape = BertTensor.layer(l, t).storedShape(c)
          values[t] = transposed(stored, rows: shape[0], columns: shape[1])
        } else {
          values[t] = stored
        }
      }
      layers.append(BertLayerParameters(values))
    }
    parameters = BertParameters(configuration: c, embeddings: embeddings, layers: layers, rootMeanSquares: rootMeanSquares)
    unusedTensors = located.keys.filter { name in
      !used.contains(name) && !name.hasSuffix("position_ids") && !name.hasPrefix("pooler.") && !name.hasPrefix("bert.pooler.")
        && !name.hasPrefix("cls.")
    }.sorted()
    modelSHA256 = files.map { sha256Hex($0.bytes) }.joined(separator: ",")
    tokenizer = try WordPieceTokenizer(directory: directory)
    if tokenizer.pieces.count != c.vocabularySize {
      throw CheckpointError("\(directory.appendingPathComponent("vocab.txt").path): \(tokenizer.pieces.count) pieces, but config.json has vocab_size \(c.vocabularySize)")
    }
  }
}

/// √(mean of squares) in Float64; 0 for an empty tensor.
func rootMeanSquare(_ values: [Float]) -> Double {
  guard !values.isEmpty else { return 0 }
  var sum = 0.0
  for v in values { sum += Double(v) * Double(v) }
  return (sum / Double(values.count)).squareRoot()
}

/// SHA-256 of `bytes` as lower-case hex.
public func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
  SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// SHA-256 of a file's contents as lower-case hex.
public func sha256Hex(of data: Data) -> String {
  SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
