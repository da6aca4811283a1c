import RankKernels

/// One encoder layer of a trained post-LN BERT, as `encoderLayer` uses it:
/// weight matrices transposed from nn.Linear's [out, in] to [in × out]
/// row-major, so that y = x·W + b.
public struct BertLayerParameters: Sendable {
  public var query, key, value, output, feedForwardIn, feedForwardOut: [Float]
  public var queryBias, keyBias, valueBias, outputBias, feedForwardInBias, feedForwardOutBias: [Float]
  public var attentionNormGamma, attentionNormBeta, outputNormGamma, outputNormBeta: [Float]

  /// The layer as the engines' `LayerWeights` (sharing the arrays).
  func layerWeights() -> LayerWeights {
    let w = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
    w.query = query; w.key = key; w.value = value; w.output = output
    w.feedForwardIn = feedForwardIn; w.feedForwardOut = feedForwardOut
    w.biasQuery = queryBias; w.biasKey = keyBias; w.biasValue = valueBias; w.biasOutput = outputBias
    w.biasFeedForwardIn = feedForwardInBias; w.biasFeedForwardOut = feedForwardOutBias
    w.gamma1 = attentionNormGamma; w.beta1 = attentionNormBeta; w.gamma2 = outputNormGamma; w.beta2 = outputNormBeta
    return w
  }
}

/// BERT's embedding layer: X₀ = LN(word[ids] + position[0…n−1] + tokenType[0]).
/// Tables are row-major [rows × d] as stored.
public struct BertEmbeddingParameters: Sendable {
  public var word, position, tokenType: [Float]
  public var normGamma, normBeta: [Float]
}

/// Every parameter of a trained BERT encoder (no pooler, no heads), used as
/// stored: no LayerNorm folding, no centring.
public struct BertParameters: Sendable {
  public var configuration: BertConfiguration
  public var embeddings: BertEmbeddingParameters
  public var layers: [BertLayerParameters]
  /// rms(T) = √(mean T²) of every tensor, indexed by `BertTensor.index`.
  public var rootMeanSquares: [Double]
}

extension BertParameters {
  /// What HF's `BertModel.from_config` gives for this architecture (its
  /// `_init_weights`): every weight matrix and embedding table iid
  /// N(0, initializer_range²), the padding row (id 0) of the word table zero,
  /// biases 0, LayerNorm γ = 1, β = 0. Tensor T's numbers come from the
  /// stream (seed, 0xB1·2⁵⁶ + T's index), apart from every sample stream.
  public static func huggingFaceInitialisation(_ c: BertConfiguration, seed: UInt64) -> BertParameters {
    func tensor(_ t: BertTensor) -> [Float] {
      let shape = t.storedShape(c)
      let name = t.name
      if name.hasSuffix(".bias") { return [Float](repeating: 0, count: shape[0]) }
      if name.hasSuffix("LayerNorm.weight") { return [Float](repeating: 1, count: shape[0]) }
      var values = [Float](repeating: 0, count: shape.reduce(1, *))
      values.withUnsafeMutableBufferPointer {
        RandomStream(seed: seed, stream: (0xB1 << 56) | UInt64(t.index))
          .fillNormal($0.baseAddress!, count: $0.count, standardDeviation: Float(c.initializerRange))
      }
      if case .embedding(.word) = t { for j in 0..<c.hiddenSize { values[j] = 0 } }
      if case .layer(_, let layerTensor) = t, layerTensor.isMatrix { return transposed(values, rows: shape[0], columns: shape[1]) }
      return values
    }
    var embeddingValues: [BertEmbeddingTensor: [Float]] = [:]
    for t in BertEmbeddingTensor.allCases { embeddingValues[t] = tensor(.embedding(t)) }
    let embeddings = BertEmbeddingParameters(
      word: embeddingValues[.word]!, position: embeddingValues[.position]!, tokenType: embeddingValues[.tokenType]!,
      normGamma: embeddingValues[.normWeight]!, normBeta: embeddingValues[.normBias]!)
    let layers = (0..<c.layers).map { l in
      var values: [BertLayerTensor: [Float]] = [:]
      for t in BertLayerTensor.allCases { values[t] = tensor(.layer(l, t)) }
      return BertLayerParameters(values)
    }
    var rms: [Double] = []
    for t in BertTensor.all(layers: c.layers) {
      switch t {
      case .embedding(let e): rms.append(rootMeanSquare(embeddings[keyPath: e.keyPath]))
      case .layer(let l, let e): rms.append(rootMeanSquare(layers[l][keyPath: e.keyPath]))
      }
    }
    return BertParameters(configuration: c, embeddings: embeddings, layers: layers, rootMeanSquares: rms)
  }
}

extension BertLayerParameters {
  /// From the sixteen tensors of a layer (matrices already [in × out]).
  init(_ values: [BertLayerTensor: [Float]]) {
    self.init(
      query: values[.queryWeight]!, key: values[.keyWeight]!, value: values[.valueWeight]!, output: values[.outputWeight]!,
      feedForwardIn: values[.intermediateWeight]!, feedForwardOut: values[.outputDenseWeight]!,
      queryBias: values[.queryBias]!, keyBias: values[.keyBias]!, valueBias: values[.valueBias]!,
      outputBias: values[.outputBias]!, feedForwardInBias: values[.intermediateBias]!,
      feedForwardOutBias: values[.outputDenseBias]!, attentionNormGamma: values[.attentionNormWeight]!,
      attentionNormBeta: values[.attentionNormBias]!, outputNormGamma: values[.outputNormWeight]!,
      outputNormBeta: values[.outputNormBias]!)
  }
}

/// The parameter tensors of a BERT encoder in a fixed order, which numbers
/// their perturbation streams: the five embedding tensors, then sixteen per
/// layer.
public enum BertTensor: Hashable, Sendable {
  case embedding(BertEmbeddingTensor)
  case layer(Int, BertLayerTensor)

  public var index: Int {
    switch self {
    case .embedding(let t): t.rawValue
    case .layer(let l, let t): BertEmbeddingTensor.allCases.count + l * BertLayerTensor.allCases.count + t.rawValue
    }
  }

  /// The Hugging Face name (without a `bert.` prefix, LayerNorm as weight/bias).
  public var name: String {
    switch self {
    case .embedding(let t): "embeddings." + t.suffix
    case .layer(let l, let t): "encoder.layer.\(l)." + t.suffix
    }
  }

  /// All tensors of an L-layer encoder in index order.
  public static func all(layers: Int) -> [BertTensor] {
    BertEmbeddingTensor.allCases.map { .embedding($0) }
      + (0..<layers).flatMap { l in BertLayerTensor.allCases.map { .layer(l, $0) } }
  }

  /// The shape config.json implies, as stored ([out, in] for matrices).
  public func storedShape(_ c: BertConfiguration) -> [Int] {
    let d = c.hiddenSize, f = c.intermediateSize
    switch self {
    case .embedding(.word): return [c.vocabularySize, d]
    case .embedding(.position): return [c.maxPositions, d]
    case .embedding(.tokenType): return [c.typeVocabularySize, d]
    case .embedding: return [d]
    case .layer(_, let t):
      switch t {
      case .queryWeight, .keyWeight, .valueWeight, .outputWeight: return [d, d]
      case .intermediateWeight: return [f, d]
      case .outputDenseWeight: return [d, f]
      case .intermediateBias: return [f]
      default: return [d]
      }
    }
  }
}

public enum BertEmbeddingTensor: Int, CaseIterable, Sendable {
  case word, position, tokenType, normWeight, normBias
  var suffix: String {
    switch self {
    case .word: "word_embeddings.weight"
    case .position: "position_embeddings.weight"
    case .tokenType: "token_type_embeddings.weight"
    case .normWeight: "LayerNorm.weight"
    case .normBias: "LayerNorm.bias"
    }
  }
  var keyPath: WritableKeyPath<BertEmbeddingParameters, [Float]> {
    switch self {
    case .word: \.word
    case .position: \.position
    case .tokenType: \.tokenType
    case .normWeight: \.normGamma
    case .normBias: \.normBeta
    }
  }
}

public enum BertLayerTensor: Int, CaseIterable, Sendable {
  case queryWeight, queryBias, keyWeight, keyBias, valueWeight, valueBias
  case outputWeight, outputBias, attentionNormWeight, attentionNormBias
  case intermediateWeight, intermediateBias, outputDenseWeight, outputDenseBias, outputNormWeight, outputNormBias

  var suffix: String {
    switch self {
    case .queryWeight: "attention.self.query.weight"
    case .queryBias: "attention.self.query.bias"
    case .keyWeight: "attention.self.key.weight"
    case .keyBias: "attention.self.key.bias"
    case .valueWeight: "attention.self.value.weight"
    case .valueBias: "attention.self.value.bias"
    case .outputWeight: "attention.output.dense.weight"
    case .outputBias: "attention.output.dense.bias"
    case .attentionNormWeight: "attention.output.LayerNorm.weight"
    case .attentionNormBias: "attention.output.LayerNorm.bias"
    case .intermediateWeight: "intermediate.dense.weight"
    case .intermediateBias: "intermediate.dense.bias"
    case .outputDenseWeight: "output.dense.weight"
    case .outputDenseBias: "output.dense.bias"
    case .outputNormWeight: "output.LayerNorm.weight"
    case .outputNormBias: "output.LayerNorm.bias"
    }
  }

  /// nn.Linear weights, stored [out, in] and kept transposed.
  var isMatrix: Bool {
    switch self {
    case .queryWeight, .keyWeight, .valueWeight, .outputWeight, .intermediateWeight, .outputDenseWeight: true
    default: false
    }
  }

  var keyPath: WritableKeyPath<BertLayerParameters, [Float]> {
    switch self {
    case .queryWeight: \.query
    case .queryBias: \.queryBias
    case .keyWeight: \.key
    case .keyBias: \.keyBias
    case .valueWeight: \.value
    case .valueBias: \.valueBias
    case .outputWeight: \.output
    case .outputBias: \.outputBias
    case .attentionNormWeight: \.attentionNormGamma
    case .attentionNormBias: \.attentionNormBeta
    case .intermediateWeight: \.feedForwardIn
    case .intermediateBias: \.feedForwardInBias
    case .outputDenseWeight: \.feedForwardOut
    case .outputDenseBias: \.feedForwardOutBias
    case .outputNormWeight: \.outputNormGamma
    case .outputNormBias: \.outputNormBeta
    }
  }
}

/// [rows × columns] row-major to [columns × rows].
func transposed(_ a: [Float], rows: Int, columns: Int) -> [Float] {
  precondition(a.count == rows * columns)
  return [Float](unsafeUninitializedCapacity: a.count) { out, initialized in
    a.withUnsafeBufferPointer { source in
      // 32 × 32 tiles keep both sides in L1.
      for i0 in stride(from: 0, to: rows, by: 32) {
        for j0 in stride(from: 0, to: columns, by: 32) {
          for i in i0..<min(rows, i0 + 32) {
            for j in j0..<min(columns, j0 + 32) { out[j * rows + i] = source[i * columns + j] }
          }
        }
      }
    }
    initialized = a.count
  }
}
