import Foundation

/// Where a block's norms sit relative to its sublayers and its skip.
///
/// With x the block's input, N₁ and N₂ its two norms:
/// - `post` (BERT, ALBERT): h = N₁(x + attn(x)), out = N₂(h + mlp(h));
/// - `pre` (GPT-2, Llama): h = x + attn(N₁(x)), out = h + mlp(N₂(h));
/// - `parallel` (GPT-NeoX, Pythia): out = x + attn(N₁(x)) + mlp(N₂(x)).
public enum NormPosition: String, Codable, Sendable, CaseIterable {
  case post, pre, parallel

  /// The variant component that puts norms in this position (`ln`, `preln`, `parln`).
  public var variantComponent: String {
    switch self {
    case .post: "ln"
    case .pre: "preln"
    case .parallel: "parln"
    }
  }
}

/// The normalisation a block's norms apply to each token row x (width d).
public enum NormKind: String, Codable, Sendable, CaseIterable {
  /// (x − mean(x)) / √(var(x) + ε) · γ + β.
  case layer
  /// x / √(mean(x²) + ε) · γ: no centring, no β (Zhang & Sennrich 2019; Llama).
  case rms
}

/// Which keys each query may attend to.
public enum AttentionMask: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Every key (encoders).
  case bidirectional
  /// Keys j ≤ i (decoders).
  case causal
  /// Keys i − W < j ≤ i: a causal sliding window of W tokens, the query's own included (Mistral, Wu et al. 2024).
  case window(Int)

  /// Parses `bidirectional`, `causal` or `window:W`.
  public init(parsing text: String) throws(ConfigurationError) {
    switch text {
    case "bidirectional": self = .bidirectional
    case "causal": self = .causal
    default:
      guard text.hasPrefix("window:"), let width = Int(text.dropFirst("window:".count)) else {
        throw ConfigurationError("\(.mask) '\(text)': expected bidirectional, causal or window:W (W a positive integer)")
      }
      self = .window(width)
    }
  }

  public var description: String {
    switch self {
    case .bidirectional: "bidirectional"
    case .causal: "causal"
    case .window(let width): "window:\(width)"
    }
  }

  /// Whether query i may attend to key j.
  public func allows(query i: Int, key j: Int) -> Bool {
    switch self {
    case .bidirectional: true
    case .causal: j <= i
    case .window(let width): j <= i && i - j < width
    }
  }

  /// The additive mask (n × n, query-major: 0 where allowed, −∞ elsewhere)
  /// that `multiHeadAttention` takes; nil when every key is allowed.
  public func additiveMask(sequenceLength n: Int) -> [Float]? {
    if self == .bidirectional { return nil }
    var mask = [Float](repeating: 0, count: n * n)
    mask.withUnsafeMutableBufferPointer { _ = writeAdditiveMask(sequenceLength: n, into: $0.baseAddress!) }
    return mask
  }

  /// Writes ``additiveMask(sequenceLength:)`` to `mask` (n × n); returns
  /// false, writing nothing, when every key is allowed.
  func writeAdditiveMask(sequenceLength n: Int, into mask: UnsafeMutablePointer<Float>) -> Bool {
    if self == .bidirectional { return false }
    for i in 0..<n { for j in 0..<n { mask[i * n + j] = allows(query: i, key: j) ? 0 : -.infinity } }
    return true
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    do { try self.init(parsing: text) } catch {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
    }
  }
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// How token positions enter the model.
public enum PositionEncoding: String, Codable, Sendable, CaseIterable {
  /// None: the block is permutation-equivariant apart from its mask.
  case none
  /// A learned table added to the token rows by the embedding layer (BERT, GPT-2); only `--input embeddings` uses it.
  case learned
  /// Rotary embeddings on the queries and keys of every layer (Su et al.; Llama, GPT-NeoX).
  case rope
}

/// What the embedding layer does to the token rows (only with `--input embeddings`).
public enum EmbeddingLayer: String, Codable, Sendable, CaseIterable {
  /// word + position + token type, then LayerNorm with ε 1e-12 (BERT, ALBERT).
  case bert
  /// word (+ position when learned), no norm (GPT-2, Llama, GPT-NeoX).
  case plain
}

/// One Transformer block, and the parts of the model around the blocks, as
/// every engine and metric reads them: the shape of the computation, not its
/// widths (those are `ModelConfiguration`'s) nor which sublayers a variant keeps
/// (`Variant`'s).
///
/// The defaults are BERT-base's block.
public struct BlockDescription: Codable, Hashable, Sendable {
  /// Where the unmodified model's norms sit. Variants name their own norm
  /// position (`ln`, `preln`, `parln`); this one decides the default variants
  /// and which variant is the unmodified model.
  public var normPosition: NormPosition = .post
  /// The kind of every norm in the blocks (and of the final norm, unless `finalNorm` says otherwise).
  public var normKind: NormKind = .layer
  /// The norm after the last block (GPT-2's `ln_f`, Llama's `model.norm`); nil: none.
  /// Applied after the last layer of every pre- or parallel-norm variant, as HF's
  /// last hidden state is.
  public var finalNorm: NormKind? = nil
  public var mask: AttentionMask = .bidirectional
  public var positions: PositionEncoding = .learned
  /// RoPE's base θ: pair i of a head's rotary dimensions turns by position·θ^(−2i/r).
  public var ropeTheta: Double = 10_000
  /// The fraction of each head's dimensions that RoPE rotates (GPT-NeoX's `rotary_pct`), in (0, 1].
  public var rotaryFraction: Double = 1
  /// Key/value heads (grouped-query attention); nil: as many as query heads.
  /// Query head h reads key/value head ⌊h / (H / H_kv)⌋.
  public var keyValueHeads: Int? = nil
  /// Whether the linear maps have biases (zero at initialisation; `--random-biases` draws them).
  public var biases = true
  /// ALBERT's layer groups: layer l (1-based) uses group ⌊(l − 1) / (L / G)⌋'s weights; nil: every layer its own.
  public var sharedLayerGroups: Int? = nil
  /// The embedding width E when the embedding layer projects E → d (ALBERT); nil: E = d, no projection.
  public var embeddingSize: Int? = nil
  public var embeddingLayer: EmbeddingLayer = .bert
  /// GPT-2's initialisation of the residual projections (attention output and
  /// MLP down projection): σ/√(2L) instead of σ.
  public var scalesResidualProjectionsByDepth = false

  public init() {}

  // Decoding tolerates fields added later (older state files have none: BERT).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init()
    normPosition = try c.decodeIfPresent(NormPosition.self, forKey: .normPosition) ?? normPosition
    normKind = try c.decodeIfPresent(NormKind.self, forKey: .normKind) ?? normKind
    finalNorm = try c.decodeIfPresent(NormKind.self, forKey: .finalNorm)
    mask = try c.decodeIfPresent(AttentionMask.self, forKey: .mask) ?? mask
    positions = try c.decodeIfPresent(PositionEncoding.self, forKey: .positions) ?? positions
    ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? ropeTheta
    rotaryFraction = try c.decodeIfPresent(Double.self, forKey: .rotaryFraction) ?? rotaryFraction
    keyValueHeads = try c.decodeIfPresent(Int.self, forKey: .keyValueHeads)
    biases = try c.decodeIfPresent(Bool.self, forKey: .biases) ?? biases
    sharedLayerGroups = try c.decodeIfPresent(Int.self, forKey: .sharedLayerGroups)
    embeddingSize = try c.decodeIfPresent(Int.self, forKey: .embeddingSize)
    embeddingLayer = try c.decodeIfPresent(EmbeddingLayer.self, forKey: .embeddingLayer) ?? embeddingLayer
    scalesResidualProjectionsByDepth = try c.decodeIfPresent(Bool.self, forKey: .scalesResidualProjectionsByDepth) ?? false
  }

  /// The 0-based weight group of layer `layer` (1-based) of `layers`: the
  /// layer itself unless layers are shared.
  func weightGroup(ofLayer layer: Int, layers: Int) -> Int {
    guard let groups = sharedLayerGroups else { return layer - 1 }
    return (layer - 1) / (layers / groups)
  }
}

/// The architectures `--architecture` names: each model's dimensions, block
/// and Hugging Face initialisation (`_init_weights`: every weight N(0, 0.02²),
/// biases 0, norm weights 1; GPT-2's `c_proj` N(0, (0.02/√(2L))²)).
public enum Architecture: String, Codable, Sendable, CaseIterable {
  /// BERT-base: L = 12, d = 768, H = 12, d_ff = 3072, GELU (erf), post-LN ε 1e-12, bidirectional.
  case bertBase = "bert-base"
  /// ALBERT-base: one layer shared 12 times, E = 128 → d = 768, H = 12, d_ff 3072, GELU tanh, post-LN ε 1e-12.
  case albertBase = "albert-base"
  /// GPT-2 (124M): L = 12, d = 768, H = 12, d_ff 3072, GELU tanh, pre-LN ε 1e-5, final LayerNorm,
  /// causal, learned positions, residual projections at 0.02/√(2L).
  case gpt2
  /// SmolLM2-135M's shape: L = 30, d = 576, H = 9 with 3 key/value heads, d_ff 1536 SwiGLU, pre-RMSNorm
  /// ε 1e-5, final RMSNorm, causal, RoPE θ = 100000, no biases.
  case llama
  /// Pythia-160M's shape: L = 12, d = 768, H = 12, d_ff 3072 GELU (erf), parallel residual, LayerNorm ε 1e-5,
  /// final LayerNorm, RoPE on 25 % of each head with θ = 10000, causal.
  case pythia

  /// The architecture's configuration: its widths, block and activation, its
  /// Dong surgeries as variants (bert-base keeps the historical default
  /// variants `attn,attn+res,attn+res+ln,attn+res+ln+mlp`), everything else
  /// at `ModelConfiguration`'s defaults.
  public var configuration: ModelConfiguration {
    var c = ModelConfiguration()
    c.architecture = self
    var b = BlockDescription()
    switch self {
    case .bertBase:
      return c
    case .albertBase:
      c.activation = .geluTanh
      b.sharedLayerGroups = 1
      b.embeddingSize = 128
    case .gpt2:
      c.activation = .geluTanh
      c.layerNormEpsilon = 1e-5
      b.normPosition = .pre
      b.finalNorm = .layer
      b.mask = .causal
      b.embeddingLayer = .plain
      b.scalesResidualProjectionsByDepth = true
    case .llama:
      c.layers = 30; c.modelDimension = 576; c.heads = 9; c.feedForwardDimension = 1536
      c.activation = .swiglu
      c.layerNormEpsilon = 1e-5
      b.normPosition = .pre
      b.normKind = .rms
      b.finalNorm = .rms
      b.mask = .causal
      b.positions = .rope
      b.ropeTheta = 100_000
      b.keyValueHeads = 3
      b.biases = false
      b.embeddingLayer = .plain
    case .pythia:
      c.layerNormEpsilon = 1e-5
      b.normPosition = .parallel
      b.finalNorm = .layer
      b.mask = .causal
      b.positions = .rope
      b.rotaryFraction = 0.25
      b.embeddingLayer = .plain
    }
    c.block = b
    c.variants = Variant.dongSurgeries(normPosition: b.normPosition)
    return c
  }

  /// The Hugging Face `model_type` of the architecture's checkpoints.
  public var huggingFaceModelType: String {
    switch self {
    case .bertBase: "bert"
    case .albertBase: "albert"
    case .gpt2: "gpt2"
    case .llama: "llama"
    case .pythia: "gpt_neox"
    }
  }
}

extension ModelConfiguration {
  /// One line for messages: widths, MLP, norms, mask and positions, e.g.
  /// "L=30, d=576, H=9, H_kv=3, d_ff=1536 swiglu, pre rms norms + final rms, causal, rope θ=100000".
  public var blockSummary: String {
    let b = block
    var parts = ["L=\(layers)", "d=\(modelDimension)", "H=\(heads)"]
    if keyValueHeads != heads { parts.append("H_kv=\(keyValueHeads)") }
    parts.append("d_ff=\(feedForwardDimension) \(activation.rawValue)")
    if let e = b.embeddingSize { parts.append("E=\(e)") }
    if let groups = b.sharedLayerGroups { parts.append("\(groups) shared layer group\(groups == 1 ? "" : "s")") }
    parts.append("\(b.normPosition.rawValue) \(b.normKind.rawValue) norms" + (b.finalNorm.map { " + final \($0.rawValue)" } ?? ""))
    parts.append(b.mask.description)
    switch b.positions {
    case .rope: parts.append("rope θ=\(b.ropeTheta.formatted())" + (b.rotaryFraction < 1 ? " on \(rotaryDimensions) of \(headDimension)" : ""))
    case .learned: parts.append("learned positions")
    case .none: parts.append("no positions")
    }
    return parts.joined(separator: ", ")
  }
}
