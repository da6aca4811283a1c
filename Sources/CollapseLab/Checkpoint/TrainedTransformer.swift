import Foundation

/// A trained Transformer other than BERT, read from a Hugging Face directory
/// (`gpt2`, `llama`, `gpt_neox`, `albert`) or a GGUF file (`llama`, `gpt2`),
/// held in the engines' layout: its configuration (an `Architecture` preset
/// with the checkpoint's widths and block), the embedding layer, one
/// `LayerWeights` per weight group ([in × out] row-major; ALBERT's layers
/// share one group) and the final norm.
///
/// Both file formats of the same model give the same values here (fused
/// Q/K/V matrices split, llama.cpp's Q/K row order undone), so that runs and
/// perturbations agree whichever file a researcher has.
public struct TrainedTransformer: @unchecked Sendable {
  /// The directory or file as given (informational).
  public let path: String
  /// config.json's `_name_or_path` or GGUF's `general.name`, else the path's last component.
  public let name: String
  /// SHA-256 of the GGUF file, or of each safetensors shard in name order joined by ','.
  public let sha256: String
  /// Which format and family it came from, for messages (e.g. "gpt2 safetensors").
  public let format: String
  public let configuration: ModelConfiguration
  public let vocabularySize: Int
  /// Ids that are not special tokens: the candidates of random-token inputs.
  public let ordinaryTokenIDs: [Int32]
  /// The byte-level BPE tokenizer, when the checkpoint has one this package implements.
  public let tokenizer: ByteLevelBPETokenizer?
  /// Why there is no tokenizer (for `--text`'s refusal), when there is none.
  public let tokenizerUnavailableReason: SettingMessage?
  /// A token the tokenizer's own post-processor puts first (Llama 3's BOS), if any.
  public let prependedTokenID: Int32?
  /// Tensors in the files that the model does not use (output heads excepted).
  public let unusedTensors: [String]
  let embeddings: TrainedEmbeddings
  /// One per weight group (per layer unless layers are shared).
  let layers: [LayerWeights]
  let finalNorm: (gamma: [Float], beta: [Float]?)?
  /// rms of every held tensor, by `HeldTensor.index`: the perturbation's scale.
  let rootMeanSquares: [Int: Double]

  init(
    path: String, name: String, sha256: String, format: String, configuration: ModelConfiguration, embeddings: TrainedEmbeddings,
    layers: [LayerWeights], finalNorm: (gamma: [Float], beta: [Float]?)?, ordinaryTokenIDs: [Int32],
    tokenizer: ByteLevelBPETokenizer?, tokenizerUnavailableReason: SettingMessage?, prependedTokenID: Int32?, unusedTensors: [String]
  ) {
    self.path = path; self.name = name; self.sha256 = sha256; self.format = format
    self.configuration = configuration; self.embeddings = embeddings; self.layers = layers; self.finalNorm = finalNorm
    self.vocabularySize = embeddings.wordCount
    self.ordinaryTokenIDs = ordinaryTokenIDs; self.tokenizer = tokenizer
    self.tokenizerUnavailableReason = tokenizerUnavailableReason; self.prependedTokenID = prependedTokenID
    self.unusedTensors = unusedTensors
    let held = HeldTensor.all(groups: layers.count).compactMap { tensor in
      Self.values(of: tensor, embeddings: embeddings, layers: layers, finalNorm: finalNorm).map { (tensor.index, $0) }
    }
    // On all cores: the sums of squares are a tenth of a large model's load.
    let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: held.count)
    defer { sums.deallocate() }
    nonisolated(unsafe) let slots = sums
    DispatchQueue.concurrentPerform(iterations: held.count) { slots[$0] = rootMeanSquare(held[$0].1) }
    var rms: [Int: Double] = [:]
    for (k, (index, _)) in held.enumerated() { rms[index] = sums[k] }
    rootMeanSquares = rms
  }

  /// The longest window the positions allow (learned tables), or nil.
  public var maximumSequenceLength: Int? { embeddings.positions.map { $0.count / embeddings.width } }

  /// The held values of `tensor` (nil where the model has none).
  static func values(
    of tensor: HeldTensor, embeddings e: TrainedEmbeddings, layers: [LayerWeights], finalNorm: (gamma: [Float], beta: [Float]?)?
  ) -> [Float]? {
    switch tensor {
    case .embedding(let part): e[part]
    case .layer(let group, let field): field.values(in: layers[group])
    case .finalNormGamma: finalNorm?.gamma
    case .finalNormBeta: finalNorm?.beta
    }
  }

  /// X₀ (n × d) for `ids` at positions 0…n−1, perturbed by `noise` if given.
  func embed(_ ids: [Int32], noise: ParameterNoise?) -> [Float] {
    let e = embeddings, width = e.width, n = ids.count
    var x = [Float](repeating: 0, count: n * width)
    var row = [Float](repeating: 0, count: width)
    func addRow(_ table: [Float], _ part: EmbeddingPart, _ index: Int, at i: Int) {
      row.replaceSubrange(0..<width, with: table[(index * width)..<((index + 1) * width)])
      noise?.perturbRows(&row, tensor: .embedding(part), firstRow: index, columns: width)
      for j in 0..<width { x[i * width + j] += row[j] }
    }
    for i in 0..<n {
      addRow(e.words, .words, Int(ids[i]), at: i)
      // HF's BERT-style embeddings add word + token type first, then the position.
      if let types = e.tokenType { addRow(types, .tokenType, 0, at: i) }
      if let positions = e.positions { addRow(positions, .positions, i, at: i) }
    }
    if let gamma = e.normGamma {
      var g = gamma, b = e.normBeta ?? [Float](repeating: 0, count: width)
      noise?.perturbRows(&g, tensor: .embedding(.normGamma), firstRow: 0, columns: width)
      noise?.perturbRows(&b, tensor: .embedding(.normBeta), firstRow: 0, columns: width)
      applyLayerNorm(&x, rows: n, columns: width, gamma: g, beta: b, eps: configuration.layerNormEpsilon)
    }
    guard let projection = e.projection else { return x }
    // ALBERT: E → d by the embedding_hidden_mapping_in linear map.
    let d = configuration.modelDimension
    var w = projection, bias = e.projectionBias ?? [Float](repeating: 0, count: d)
    noise?.perturbRows(&w, tensor: .embedding(.projection), firstRow: 0, columns: d)
    noise?.perturbRows(&bias, tensor: .embedding(.projectionBias), firstRow: 0, columns: d)
    var y = [Float](repeating: 0, count: n * d)
    for i in 0..<n {
      for k in 0..<width {
        let a = x[i * width + k]
        for j in 0..<d { y[i * d + j] += a * w[k * d + j] }
      }
      for j in 0..<d { y[i * d + j] += bias[j] }
    }
    return y
  }

  /// Weight group `group`'s parameters, perturbed by `noise` if given (a copy; the held ones are shared).
  func layer(_ group: Int, noise: ParameterNoise?) -> LayerWeights {
    guard let noise else { return layers[group] }
    let source = layers[group], copy = LayerWeights(modelDimension: 0, feedForwardDimension: 0)
    for field in LayerField.allCases {
      guard var values = field.values(in: source) else { continue }
      noise.perturbRows(&values, tensor: .layer(group, field), firstRow: 0, columns: values.count)
      field.set(values, in: copy)
    }
    return copy
  }

  /// The final norm's parameters, perturbed by `noise` if given.
  func finalNormParameters(noise: ParameterNoise?) -> (gamma: [Float]?, beta: [Float]?)? {
    guard var (gamma, beta) = finalNorm else { return nil }
    noise?.perturbRows(&gamma, tensor: .finalNormGamma, firstRow: 0, columns: gamma.count)
    if var b = beta {
      noise?.perturbRows(&b, tensor: .finalNormBeta, firstRow: 0, columns: b.count)
      beta = b
    }
    return (gamma, beta)
  }
}

/// The embedding layer: word (vocabulary × E), learned positions (P × E) and
/// ALBERT's token type row, LayerNorm and E → d projection, each nil where the
/// family has none. Row-major; the projection [E × d].
struct TrainedEmbeddings {
  var words: [Float]
  var width: Int
  var positions: [Float]?
  var tokenType: [Float]?
  var normGamma: [Float]?
  var normBeta: [Float]?
  var projection: [Float]?
  var projectionBias: [Float]?

  var wordCount: Int { words.count / width }

  subscript(part: EmbeddingPart) -> [Float]? {
    switch part {
    case .words: words
    case .positions: positions
    case .tokenType: tokenType
    case .normGamma: normGamma
    case .normBeta: normBeta
    case .projection: projection
    case .projectionBias: projectionBias
    }
  }
}

enum EmbeddingPart: Int, CaseIterable { case words, positions, tokenType, normGamma, normBeta, projection, projectionBias }

/// A trained layer's tensors as `LayerWeights` holds them.
enum LayerField: Int, CaseIterable {
  case query, key, value, output, feedForwardIn, feedForwardOut, feedForwardGate
  case biasQuery, biasKey, biasValue, biasOutput, biasFeedForwardIn, biasFeedForwardOut, biasFeedForwardGate
  case gamma1, beta1, gamma2, beta2

  func values(in w: LayerWeights) -> [Float]? {
    switch self {
    case .query: w.query
    case .key: w.key
    case .value: w.value
    case .output: w.output
    case .feedForwardIn: w.feedForwardIn
    case .feedForwardOut: w.feedForwardOut
    case .feedForwardGate: w.feedForwardGate.isEmpty ? nil : w.feedForwardGate
    case .biasQuery: w.biasQuery
    case .biasKey: w.biasKey
    case .biasValue: w.biasValue
    case .biasOutput: w.biasOutput
    case .biasFeedForwardIn: w.biasFeedForwardIn
    case .biasFeedForwardOut: w.biasFeedForwardOut
    case .biasFeedForwardGate: w.biasFeedForwardGate
    case .gamma1: w.gamma1
    case .beta1: w.beta1
    case .gamma2: w.gamma2
    case .beta2: w.beta2
    }
  }

  func set(_ v: [Float], in w: LayerWeights) {
    switch self {
    case .query: w.query = v
    case .key: w.key = v
    case .value: w.value = v
    case .output: w.output = v
    case .feedForwardIn: w.feedForwardIn = v
    case .feedForwardOut: w.feedForwardOut = v
    case .feedForwardGate: w.feedForwardGate = v
    case .biasQuery: w.biasQuery = v
    case .biasKey: w.biasKey = v
    case .biasValue: w.biasValue = v
    case .biasOutput: w.biasOutput = v
    case .biasFeedForwardIn: w.biasFeedForwardIn = v
    case .biasFeedForwardOut: w.biasFeedForwardOut = v
    case .biasFeedForwardGate: w.biasFeedForwardGate = v
    case .gamma1: w.gamma1 = v
    case .beta1: w.beta1 = v
    case .gamma2: w.gamma2 = v
    case .beta2: w.beta2 = v
    }
  }
}

/// A held tensor's identity, whose index names its perturbation stream:
/// the embedding parts 0…6, then 18 per weight group, then the final norm.
enum HeldTensor: Hashable {
  case embedding(EmbeddingPart)
  case layer(Int, LayerField)
  case finalNormGamma, finalNormBeta

  var index: Int {
    switch self {
    case .embedding(let part): part.rawValue
    case .layer(let group, let field): EmbeddingPart.allCases.count + group * LayerField.allCases.count + field.rawValue
    case .finalNormGamma: 1 << 14
    case .finalNormBeta: (1 << 14) + 1
    }
  }

  static func all(groups: Int) -> [HeldTensor] {
    EmbeddingPart.allCases.map { .embedding($0) }
      + (0..<groups).flatMap { g in LayerField.allCases.map { .layer(g, $0) } } + [.finalNormGamma, .finalNormBeta]
  }
}

/// Splits a rows × (parts·w) row-major matrix into `parts` rows × w matrices
/// (GPT-2's c_attn columns q | k | v).
func splittingColumns(_ fused: [Float], rows: Int, into parts: Int) -> [[Float]] {
  let total = fused.count / rows, width = total / parts
  return (0..<parts).map { t in
    var part = [Float](repeating: 0, count: rows * width)
    for i in 0..<rows { for j in 0..<width { part[i * width + j] = fused[i * total + t * width + j] } }
    return part
  }
}

extension TrainedTransformer {
  /// A text's windows for this model: its tokens with no special tokens added
  /// (except a BOS the tokenizer's own configuration puts first), cut into
  /// consecutive windows of n, the last partial one dropped.
  public func textWindows(of text: String, sequenceLength n: Int, source: String) throws(CheckpointError) -> [[Int32]] {
    guard let tokenizer else {
      let reason = tokenizerUnavailableReason ?? "\(path) has no tokenizer this package implements; use \(.tokenIDs) FILE"
      throw CheckpointError("\(.text) \(source): \(reason)")
    }
    let ids = tokenizer.encode(text)
    let bos = prependedTokenID.map { [$0] } ?? []
    let width = n - bos.count
    let count = width > 0 ? ids.count / width : 0
    if count == 0 {
      throw CheckpointError("\(.text) \(source): \(ids.count) tokens, but one window of \(.sequenceLength) \(n) needs \(max(width, 1))\(bos.isEmpty ? "" : " after the BOS token")")
    }
    return (0..<count).map { bos + ids[($0 * width)..<(($0 + 1) * width)] }
  }
}
