import Foundation

/// The architecture settings of a Hugging Face BERT checkpoint's config.json.
public struct BertConfiguration: Sendable, Equatable {
  public var hiddenSize: Int
  public var layers: Int
  public var heads: Int
  public var intermediateSize: Int
  public var activation: FeedForwardActivation
  public var layerNormEpsilon: Float
  public var maxPositions: Int
  public var typeVocabularySize: Int
  public var vocabularySize: Int
  /// `_name_or_path`, if the file has one.
  public var name: String?
  /// Standard deviation of HF's initialiser (`initializer_range`, default 0.02).
  public var initializerRange: Double = 0.02

  public static let supportedModelTypes = ["bert"]

  public init(
    hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, activation: FeedForwardActivation = .gelu,
    layerNormEpsilon: Float = 1e-12, maxPositions: Int = 512, typeVocabularySize: Int = 2, vocabularySize: Int,
    name: String? = nil
  ) {
    self.hiddenSize = hiddenSize
    self.layers = layers
    self.heads = heads
    self.intermediateSize = intermediateSize
    self.activation = activation
    self.layerNormEpsilon = layerNormEpsilon
    self.maxPositions = maxPositions
    self.typeVocabularySize = typeVocabularySize
    self.vocabularySize = vocabularySize
    self.name = name
  }

  /// Reads and checks `url` (a config.json); HF's defaults fill the optional
  /// fields (layer_norm_eps 1e-12, max_position_embeddings 512,
  /// type_vocab_size 2, hidden_act gelu).
  public init(contentsOf url: URL) throws(CheckpointError) {
    let path = url.path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckpointError("\(path): missing or unreadable (a Hugging Face model directory has config.json)")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw CheckpointError("\(path): not a JSON object")
    }
    let modelType = object["model_type"] as? String ?? "(missing)"
    guard Self.supportedModelTypes.contains(modelType) else {
      if TrainedTransformer.huggingFaceModelTypes.contains(modelType) {
        throw CheckpointError("\(path): model_type '\(modelType)' is not BERT; TrainedTransformer(huggingFaceDirectory:) reads it")
      }
      let all = Self.supportedModelTypes + TrainedTransformer.huggingFaceModelTypes
      throw CheckpointError("\(path): model_type '\(modelType)' is not supported (supported: \(all.joined(separator: ", ")))")
    }
    func integer(_ key: String, default fallback: Int? = nil) throws(CheckpointError) -> Int {
      guard let value = object[key] else {
        if let fallback { return fallback }
        throw CheckpointError("\(path): '\(key)' is missing")
      }
      guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue), integer > 0, integer <= 1 << 31 else {
        throw CheckpointError("\(path): '\(key)' must be a positive integer up to 2³¹, got \(value)")
      }
      return integer
    }
    hiddenSize = try integer("hidden_size")
    layers = try integer("num_hidden_layers")
    heads = try integer("num_attention_heads")
    intermediateSize = try integer("intermediate_size")
    maxPositions = try integer("max_position_embeddings", default: 512)
    typeVocabularySize = try integer("type_vocab_size", default: 2)
    vocabularySize = try integer("vocab_size")
    let activationName = object["hidden_act"] as? String ?? "gelu"
    guard let activation = FeedForwardActivation(rawValue: activationName) else {
      throw CheckpointError("\(path): hidden_act '\(activationName)' is not supported (gelu, gelu_new, relu)")
    }
    self.activation = activation
    if let value = object["layer_norm_eps"] {
      guard let number = value as? NSNumber, number.doubleValue >= 0 else {
        throw CheckpointError("\(path): 'layer_norm_eps' must be a number >= 0, got \(value)")
      }
      layerNormEpsilon = Float(number.doubleValue)
    } else {
      layerNormEpsilon = 1e-12
    }
    if let embedding = object["position_embedding_type"] as? String, embedding != "absolute" {
      throw CheckpointError("\(path): position_embedding_type '\(embedding)' is not supported (absolute)")
    }
    if hiddenSize % heads != 0 {
      throw CheckpointError("\(path): hidden_size \(hiddenSize) is not divisible by num_attention_heads \(heads)")
    }
    name = object["_name_or_path"] as? String
    if let range = (object["initializer_range"] as? NSNumber)?.doubleValue, range > 0 { initializerRange = range }
  }

  public var headDimension: Int { hiddenSize / heads }
}

extension ModelConfiguration {
  /// The widths, depth, LayerNorm eps and activation of a checkpoint's
  /// config.json, at `sequenceLength` tokens (other settings at their defaults).
  public init(architecture b: BertConfiguration, sequenceLength: Int) {
    self.init()
    layers = b.layers; modelDimension = b.hiddenSize; heads = b.heads; feedForwardDimension = b.intermediateSize
    layerNormEpsilon = b.layerNormEpsilon; activation = b.activation
    self.sequenceLength = sequenceLength
  }
}
