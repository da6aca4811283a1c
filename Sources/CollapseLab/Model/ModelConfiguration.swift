import Foundation

/// Errors in a run's configuration, each naming the setting and its value.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// An encoder architecture variant: self-attention plus optional components,
/// named by joining them with `+`: `attn`, `attn+ln`, `attn+res`,
/// `attn+res+ln`, `attn+res+ln+mlp` (= BERT-base), `attn+res+preln+mlp`,
/// `attn+res+ln+mlp+pgop` (position-gated output projection).
///
/// `res` puts a residual connection around both sublayers; `res-attn` and
/// `res-mlp` around one of them, which gives Dong et al.'s surgeries:
/// `attn+ln` (SAN), `attn+ln+mlp+res-mlp` (SAN+MLP: the attention skip
/// removed, the FFN keeps its own), `attn+res+ln` (SAN+skip) and
/// `attn+res+ln+mlp` (the unmodified model).
public struct Variant: Hashable, Codable, Sendable, CustomStringConvertible {
  /// A residual connection around the attention sublayer.
  public var attentionResidual: Bool
  /// A residual connection around the feed-forward sublayer (only with `mlp`).
  public var feedForwardResidual: Bool
  /// Post-sublayer LayerNorm (BERT's post-LN).
  public var postLayerNorm: Bool
  /// LayerNorm on each sublayer's input (pre-LN).
  public var preLayerNorm: Bool
  /// The feed-forward sublayer d → d_ff → d with the model's activation.
  public var mlp: Bool
  /// Position-gated output projection (PG-OP): head h's output at token i is
  /// scaled by g_{i,h} = sigmoid(w_hᵀ·y_i + b_h) before W_O, y_i the token's
  /// attention input; w_h has iid N(0, σ²) entries like every weight, b_h is
  /// a bias (0 unless random biases are drawn). H·d + H parameters.
  public var positionGates: Bool

  /// `residual` puts residual connections around both sublayers (`res`).
  public init(
    residual: Bool = false, postLayerNorm: Bool = false, preLayerNorm: Bool = false, mlp: Bool = false,
    positionGates: Bool = false
  ) {
    self.attentionResidual = residual
    self.feedForwardResidual = residual && mlp
    self.postLayerNorm = postLayerNorm
    self.preLayerNorm = preLayerNorm
    self.mlp = mlp
    self.positionGates = positionGates
  }

  /// Residual connections around every sublayer the variant has.
  public var residual: Bool { attentionResidual && (feedForwardResidual || !mlp) }

  /// Parses `attn+res+ln+mlp`-style names (components in any order).
  public init(parsing name: String) throws(ConfigurationError) {
    let parts = name.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
    guard parts.first == "attn" else {
      throw ConfigurationError("variant '\(name)': must start with 'attn' (components: attn, res, res-attn, res-mlp, ln, preln, mlp, pgop)")
    }
    var seen: Set<String> = ["attn"]
    self.init()
    var bothResiduals = false
    for part in parts.dropFirst() {
      guard seen.insert(part).inserted else { throw ConfigurationError("variant '\(name)': component '\(part)' repeated") }
      switch part {
      case "res": bothResiduals = true
      case "res-attn": attentionResidual = true
      case "res-mlp": feedForwardResidual = true
      case "ln": postLayerNorm = true
      case "preln": preLayerNorm = true
      case "mlp": mlp = true
      case "pgop": positionGates = true
      case "":
        throw ConfigurationError("variant '\(name)': empty component (two '+' in a row or a trailing '+')")
      default:
        throw ConfigurationError("variant '\(name)': unknown component '\(part)' (expected res, res-attn, res-mlp, ln, preln, mlp or pgop)")
      }
    }
    if bothResiduals && (attentionResidual || feedForwardResidual) {
      throw ConfigurationError("variant '\(name)': 'res' already puts a residual around both sublayers; drop 'res-attn'/'res-mlp'")
    }
    if bothResiduals {
      attentionResidual = true
      feedForwardResidual = mlp
    }
    if feedForwardResidual && !mlp {
      throw ConfigurationError("variant '\(name)': 'res-mlp' needs the 'mlp' component")
    }
    if postLayerNorm && preLayerNorm {
      throw ConfigurationError("variant '\(name)': 'ln' (post-LN) and 'preln' exclude each other")
    }
  }

  /// The canonical name, components in the order attn, res or res-attn,
  /// ln/preln, mlp, res-mlp, pgop (each residual beside its sublayer).
  public var description: String {
    var parts = ["attn"]
    if residual { parts.append("res") } else if attentionResidual { parts.append("res-attn") }
    if postLayerNorm { parts.append("ln") }
    if preLayerNorm { parts.append("preln") }
    if mlp { parts.append("mlp") }
    if feedForwardResidual && !residual { parts.append("res-mlp") }
    if positionGates { parts.append("pgop") }
    return parts.joined(separator: "+")
  }

  public static let defaults: [Variant] = ["attn", "attn+res", "attn+res+ln", "attn+res+ln+mlp"].map { try! Variant(parsing: $0) }

  /// Dong et al.'s four surgeries, the default variants with `--model`: SAN,
  /// SAN+MLP, SAN+skip and the unmodified post-LN model.
  public static let dongSurgeries: [Variant] =
    ["attn+ln", "attn+ln+mlp+res-mlp", "attn+res+ln", "attn+res+ln+mlp"].map { try! Variant(parsing: $0) }

  /// Parses a comma-separated list, refusing empty entries and variants that
  /// are the same after canonicalisation (`attn+ln+res`, `attn+res+ln`).
  public static func parseList(_ text: String, option: String = "--variants") throws(ConfigurationError) -> [Variant] {
    let entries = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    var variants: [Variant] = []
    for (index, entry) in entries.enumerated() {
      let trimmed = entry.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty {
        throw ConfigurationError("\(option) '\(text)': entry \(index + 1) is empty (a doubled, leading or trailing comma)")
      }
      let variant = try Variant(parsing: trimmed)
      if let earlier = variants.firstIndex(of: variant) {
        throw ConfigurationError("\(option) '\(text)': '\(trimmed)' is the same variant as '\(entries[earlier].trimmingCharacters(in: .whitespaces))' (\(variant))")
      }
      variants.append(variant)
    }
    return variants
  }

  public init(from decoder: any Decoder) throws {
    let name = try decoder.singleValueContainer().decode(String.self)
    try self.init(parsing: name)
  }
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// How the entries of weight matrices are drawn.
public enum WeightDistribution: String, Codable, Sendable, CaseIterable {
  /// iid N(0, σ²).
  case gaussian
  /// iid uniform on [−σ√3, σ√3] (the same variance).
  case uniform
}

/// The token matrix X₀ fed to the first layer.
public enum InputKind: String, Codable, Sendable, CaseIterable {
  /// iid N(0, 1) token rows.
  case gaussian
  /// BERT's embedding layer at initialisation: LayerNorm(word + position +
  /// token type). With distinct token ids and positions the rows of the word
  /// and position tables are independent, so the tables are sampled only for
  /// the rows used: word and position rows iid N(0, 0.02²), one shared token
  /// type row — exact in distribution.
  case bertEmbeddings = "bert-embeddings"
  /// A trained checkpoint's embedding layer on consecutive windows of a text
  /// file (`--model DIR --text FILE`).
  case text
  /// A trained checkpoint's embedding layer on n − 2 distinct token ids drawn
  /// uniformly from the non-special vocabulary, wrapped in [CLS] … [SEP].
  case randomTokens = "random-tokens"

  /// Inputs that need a checkpoint's vocabulary and embedding tables.
  public var needsCheckpoint: Bool { self == .text || self == .randomTokens }
}

/// The feed-forward sublayer's nonlinearity, named as config.json's `hidden_act`.
public enum FeedForwardActivation: String, Codable, Sendable, CaseIterable {
  /// The exact GELU x·Φ(x) (erf form).
  case gelu
  /// The tanh approximation of GELU.
  case geluTanh = "gelu_new"
  case relu
}

/// How singular values (hence ranks) are computed.
public enum RankMethod: String, Codable, Sendable, CaseIterable {
  /// Eigenvalues of the Float64 Gram matrix X·Xᵀ (and of the centred one):
  /// σ resolved down to about √(d·2⁻⁵³)·σ₁ (3e-7·σ₁ worst case at d = 768,
  /// typically 1e-8), far below the rank tolerance max(n, d)·ε_f32·σ₁ ≈ 9e-5·σ₁,
  /// so ranks match `exact`; only log10_sigma_ratio of a collapsed matrix
  /// bottoms out near −8 instead of reporting round-off-level values. Ten
  /// times cheaper than `exact` at 16 tokens; the default. Used when n ≤ d
  /// (otherwise `exact`).
  case gram
  /// All singular values in Float64 (QR, then one-sided Jacobi), with high
  /// relative accuracy even for tiny singular values.
  case exact
  /// `randomizedRankEstimate`: a range basis grown until the residual is under
  /// the rank tolerance; singular values beyond the converged basis are below
  /// the tolerance and reported as 0. For long sequences.
  case randomized
}

/// Every setting that determines a run's results.
public struct ModelConfiguration: Codable, Hashable, Sendable {
  public var layers = 12
  public var modelDimension = 768
  public var heads = 12
  public var feedForwardDimension = 3072
  public var sequenceLength = 16
  public var layerNormEpsilon: Float = 1e-12
  /// Standard deviation of weight entries (BERT's initialiser: 0.02).
  public var weightScale: Float = 0.02
  public var weightDistribution: WeightDistribution = .gaussian
  /// Draw biases iid N(0, weightScale²) instead of 0.
  public var randomBiases = false
  /// Draw LayerNorm gamma = 1 + N(0, weightScale²) and beta = N(0, weightScale²)
  /// instead of 1 and 0.
  public var randomLayerNormAffine = false
  public var input: InputKind = .gaussian
  /// If set, X₀ = G₁·G₂/√r with G₁ (n×r), G₂ (r×d) Gaussian: an exactly rank-r input.
  public var inputRank: Int? = nil
  public var variants: [Variant] = Variant.defaults
  /// Numerical rank counts σᵢ > factor·σ₁·max(n, d)·ε_f32 (factor 1: NumPy's rule).
  public var rankToleranceFactor: Double = 1
  public var rankMethod: RankMethod = .gram
  /// The feed-forward nonlinearity (random models: the exact GELU).
  public var activation: FeedForwardActivation = .gelu
  /// The trained checkpoint whose weights the run uses instead of sampling
  /// them (nil: random weights). With it, the widths above come from its
  /// config.json.
  public var checkpoint: CheckpointSource? = nil

  public init() {}

  // Decoding tolerates settings added after a state file was written.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init()
    layers = try c.decode(Int.self, forKey: .layers)
    modelDimension = try c.decode(Int.self, forKey: .modelDimension)
    heads = try c.decode(Int.self, forKey: .heads)
    feedForwardDimension = try c.decode(Int.self, forKey: .feedForwardDimension)
    sequenceLength = try c.decode(Int.self, forKey: .sequenceLength)
    layerNormEpsilon = try c.decode(Float.self, forKey: .layerNormEpsilon)
    weightScale = try c.decode(Float.self, forKey: .weightScale)
    weightDistribution = try c.decode(WeightDistribution.self, forKey: .weightDistribution)
    randomBiases = try c.decode(Bool.self, forKey: .randomBiases)
    randomLayerNormAffine = try c.decode(Bool.self, forKey: .randomLayerNormAffine)
    input = try c.decode(InputKind.self, forKey: .input)
    inputRank = try c.decodeIfPresent(Int.self, forKey: .inputRank)
    variants = try c.decode([Variant].self, forKey: .variants)
    rankToleranceFactor = try c.decode(Double.self, forKey: .rankToleranceFactor)
    rankMethod = try c.decodeIfPresent(RankMethod.self, forKey: .rankMethod) ?? .exact
    activation = try c.decodeIfPresent(FeedForwardActivation.self, forKey: .activation) ?? .gelu
    checkpoint = try c.decodeIfPresent(CheckpointSource.self, forKey: .checkpoint)
  }

  public var headDimension: Int { modelDimension / heads }

  /// Checks every setting, naming the offending one.
  public func validate() throws(ConfigurationError) {
    func positive(_ value: Int, _ name: String) throws(ConfigurationError) {
      if value < 1 { throw ConfigurationError("\(name) must be positive, got \(value)") }
    }
    try positive(layers, "--layers")
    try positive(modelDimension, "--d-model")
    try positive(heads, "--heads")
    try positive(feedForwardDimension, "--d-ff")
    try positive(sequenceLength, "--seq-len")
    if modelDimension % heads != 0 {
      throw ConfigurationError("--d-model (\(modelDimension)) must be divisible by --heads (\(heads))")
    }
    if sequenceLength < 2 { throw ConfigurationError("--seq-len must be at least 2 (affine rank needs two tokens), got \(sequenceLength)") }
    if !(weightScale > 0) || !weightScale.isFinite { throw ConfigurationError("--sigma must be a positive number, got \(weightScale)") }
    if !(layerNormEpsilon >= 0) { throw ConfigurationError("--ln-eps must be >= 0, got \(layerNormEpsilon)") }
    if let rank = inputRank, rank < 1 || rank > min(sequenceLength, modelDimension) {
      throw ConfigurationError("--input-rank must be in 1...min(seq-len, d-model) = \(min(sequenceLength, modelDimension)), got \(rank)")
    }
    if input.needsCheckpoint && checkpoint == nil {
      throw ConfigurationError("--input \(input.rawValue) needs --model DIR (a trained checkpoint's vocabulary and embeddings)")
    }
    if let checkpoint {
      if !input.needsCheckpoint {
        throw ConfigurationError("--input \(input.rawValue) cannot be used with --model (use random-tokens or --text FILE)")
      }
      if !(checkpoint.perturbation >= 0) || !checkpoint.perturbation.isFinite {
        throw ConfigurationError("--perturb must be a finite number >= 0, got \(checkpoint.perturbation)")
      }
      for variant in variants {
        if variant.preLayerNorm {
          throw ConfigurationError("variant '\(variant)': 'preln' cannot be defined on a post-LN checkpoint (BERT has no LayerNorm before its sublayers)")
        }
        if variant.positionGates {
          throw ConfigurationError("variant '\(variant)': 'pgop' gates do not exist in a trained BERT checkpoint")
        }
      }
    }
    if variants.isEmpty { throw ConfigurationError("--variants must name at least one variant") }
    if Set(variants).count != variants.count { throw ConfigurationError("--variants lists a variant twice") }
    if !(rankToleranceFactor > 0) { throw ConfigurationError("--rank-tolerance must be positive, got \(rankToleranceFactor)") }
  }
}
