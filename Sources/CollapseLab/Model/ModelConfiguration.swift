import Foundation

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
  /// The architecture's embedding layer at initialisation (`BlockDescription.embeddingLayer`):
  /// n distinct word rows iid N(0, σ²) of width E, plus learned position rows
  /// when the block has them, plus BERT's token type row and LayerNorm, then
  /// ALBERT's E → d projection. For bert-base the same law as
  /// `bertEmbeddings` (which keeps σ = 0.02 whatever `--sigma`).
  case embeddings
  /// A trained checkpoint's embedding layer on consecutive windows of a text
  /// file (`--model DIR --text FILE`).
  case text
  /// A trained checkpoint's embedding layer on n − 2 distinct token ids drawn
  /// uniformly from the non-special vocabulary, wrapped in [CLS] … [SEP].
  case randomTokens = "random-tokens"
  /// A checkpoint's embedding layer on windows of ids read from a JSON-lines
  /// file (`--token-ids FILE`), used as given.
  case tokenIDs = "token-ids"

  /// Inputs that need a checkpoint's vocabulary and embedding tables.
  public var needsCheckpoint: Bool { self == .text || self == .randomTokens || self == .tokenIDs }
}

/// The feed-forward sublayer's nonlinearity, named as config.json's `hidden_act`.
public enum FeedForwardActivation: String, Codable, Sendable, CaseIterable {
  /// The exact GELU x·Φ(x) (erf form).
  case gelu
  /// The tanh approximation of GELU.
  case geluTanh = "gelu_new"
  case relu
  /// Llama's gated MLP: down(silu(x·W_gate) ⊙ x·W_up), silu(z) = z·σ(z).
  case swiglu
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
  /// All singular values in Float64 (QR, then one-sided Jacobi:
  /// `singularValuesByJacobi`), with high relative accuracy even for tiny
  /// singular values, on either backend.
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
  /// The preset the configuration started from (a label for the results:
  /// the engines read `block` and the widths above).
  public var architecture: Architecture = .bertBase
  /// The block's structure: norms, mask, positions, heads, biases, sharing.
  public var block = BlockDescription()
  /// Measure `attention_spectral_gap` and `attention_sink_mass` (NaN otherwise):
  /// the attention probabilities written out and, per head, the eigenvalues of
  /// A·Aᵀ. Off by default: 1.5× the time of the 16-token BERT-base job.
  public var attentionSpectra = false
  /// The saved hidden states `measure` reads instead of running a model
  /// (nil: a model runs). With it, `layers`, `modelDimension` and
  /// `sequenceLength` are the files' L, d and n, and the one entry of
  /// `variants` is a placeholder named by `variantLabels`.
  public var measured: MeasuredStatesSource? = nil

  public init() {}

  /// The configuration of a `measure` run: L + 1 = `states` hidden states of
  /// n × d per sequence; no model, so no heads, weights or variants.
  public init(measuring source: MeasuredStatesSource, states: Int, sequenceLength n: Int, width d: Int) {
    self.init()
    layers = states - 1
    modelDimension = d
    heads = 1
    feedForwardDimension = d
    sequenceLength = n
    variants = [Variant()]
    architecture = .bertBase
    measured = source
  }

  /// What the results call each entry of `variants`: its name
  /// (`attn+res+ln+mlp`), or `measured` for saved hidden states.
  public var variantLabels: [String] {
    measured != nil ? [MeasuredStatesSource.variantLabel] : variants.map(\.description)
  }

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
    architecture = try c.decodeIfPresent(Architecture.self, forKey: .architecture) ?? .bertBase
    block = try c.decodeIfPresent(BlockDescription.self, forKey: .block) ?? BlockDescription()
    attentionSpectra = try c.decodeIfPresent(Bool.self, forKey: .attentionSpectra) ?? false
    measured = try c.decodeIfPresent(MeasuredStatesSource.self, forKey: .measured)
  }

  public var headDimension: Int { modelDimension / heads }
  /// Key/value heads H_kv (H without grouped-query attention).
  public var keyValueHeads: Int { block.keyValueHeads ?? heads }
  /// Columns of K and V: H_kv · d_k.
  public var keyValueWidth: Int { keyValueHeads * headDimension }
  /// Dimensions of each head that RoPE rotates (0 without RoPE).
  public var rotaryDimensions: Int {
    block.positions == .rope ? Int((block.rotaryFraction * Double(headDimension)).rounded()) : 0
  }
  /// The embedding width E (d unless the embedding layer projects).
  public var embeddingSize: Int { block.embeddingSize ?? modelDimension }
  /// The variant that is the unmodified model, if the run has it.
  public var unmodifiedVariant: Variant? {
    let unmodified = Variant.unmodified(normPosition: block.normPosition)
    return variants.contains(unmodified) ? unmodified : nil
  }

  /// Checks every setting, naming the offending one.
  public func validate() throws(ConfigurationError) {
    func positive(_ value: Int, _ setting: ConfigurationSetting) throws(ConfigurationError) {
      if value < 1 { throw ConfigurationError("\(setting) must be positive, got \(value)") }
    }
    if measured != nil {
      // Saved states: only the sizes read from the files and the rank settings apply.
      if layers < 1 { throw ConfigurationError("the hidden states need at least two states (the embeddings and one layer), got \(layers + 1)") }
      if sequenceLength < 2 { throw ConfigurationError("sequences need at least 2 tokens (affine rank needs two), got n = \(sequenceLength)") }
      if modelDimension < 1 { throw ConfigurationError("the hidden size d must be positive, got \(modelDimension)") }
      if !(rankToleranceFactor > 0) { throw ConfigurationError("\(.rankToleranceFactor) must be positive, got \(rankToleranceFactor)") }
      return
    }
    try positive(layers, .layers)
    try positive(modelDimension, .modelDimension)
    try positive(heads, .heads)
    try positive(feedForwardDimension, .feedForwardDimension)
    try positive(sequenceLength, .sequenceLength)
    if modelDimension % heads != 0 {
      throw ConfigurationError("\(.modelDimension) (\(modelDimension)) must be divisible by \(.heads) (\(heads))")
    }
    if sequenceLength < 2 { throw ConfigurationError("\(.sequenceLength) must be at least 2 (affine rank needs two tokens), got \(sequenceLength)") }
    if !(weightScale > 0) || !weightScale.isFinite { throw ConfigurationError("\(.weightScale) must be a positive number, got \(weightScale)") }
    if !(layerNormEpsilon >= 0) { throw ConfigurationError("\(.layerNormEpsilon) must be >= 0, got \(layerNormEpsilon)") }
    if let rank = inputRank, rank < 1 || rank > min(sequenceLength, modelDimension) {
      throw ConfigurationError("\(.inputRank) must be in 1...min(\(.sequenceLength), \(.modelDimension)) = \(min(sequenceLength, modelDimension)), got \(rank)")
    }
    if input.needsCheckpoint && checkpoint == nil {
      throw ConfigurationError("\(.input) \(input.rawValue) needs \(.checkpoint) DIR (a trained checkpoint's vocabulary and embeddings)")
    }
    if let checkpoint {
      if !input.needsCheckpoint {
        throw ConfigurationError("\(.input) \(input.rawValue) cannot be used with \(.checkpoint) (use random-tokens or \(.text) FILE)")
      }
      if !(checkpoint.perturbation >= 0) || !checkpoint.perturbation.isFinite {
        throw ConfigurationError("\(.perturbation) must be a finite number >= 0, got \(checkpoint.perturbation)")
      }
      let position = block.normPosition
      for variant in variants {
        let own = position == .post ? variant.postLayerNorm : position == .pre ? variant.preLayerNorm : variant.parallelLayerNorm
        if variant.hasNorms && !own {
          throw ConfigurationError("variant '\(variant)': the checkpoint's norms sit in the \(position.rawValue) position ('\(position.variantComponent)'); other positions have no trained norms to use")
        }
        if variant.positionGates {
          throw ConfigurationError("variant '\(variant)': 'pgop' gates do not exist in a trained checkpoint")
        }
      }
    }
    try validateBlock()
    if variants.isEmpty { throw ConfigurationError("\(.variants) must name at least one variant") }
    if Set(variants).count != variants.count { throw ConfigurationError("\(.variants) lists a variant twice") }
    if !(rankToleranceFactor > 0) { throw ConfigurationError("\(.rankToleranceFactor) must be positive, got \(rankToleranceFactor)") }
  }
}

extension ModelConfiguration {
  /// The block's settings against the widths, one error naming the flag and values.
  func validateBlock() throws(ConfigurationError) {
    let b = block
    if let kv = b.keyValueHeads {
      if kv < 1 || heads % kv != 0 {
        throw ConfigurationError("\(.keyValueHeads) \(kv) must divide \(.heads) \(heads) (each key/value head serves H/H_kv query heads)")
      }
    }
    if case .window(let width) = b.mask, width < 1 || width > sequenceLength {
      throw ConfigurationError("\(.mask) window:\(width): the window must be in 1...\(sequenceLength) (\(.sequenceLength))")
    }
    if b.positions == .rope {
      if !(b.rotaryFraction > 0 && b.rotaryFraction <= 1) {
        throw ConfigurationError("\(.rotaryFraction) must be in (0, 1], got \(b.rotaryFraction)")
      }
      let exact = b.rotaryFraction * Double(headDimension)
      if exact != exact.rounded() || Int(exact) % 2 != 0 {
        throw ConfigurationError("\(.rotaryFraction) \(b.rotaryFraction) of head width \(headDimension) gives \(exact) rotary dimensions; RoPE needs an even whole number")
      }
      if !(b.ropeTheta > 1) || !b.ropeTheta.isFinite { throw ConfigurationError("\(.ropeTheta) must be a finite number > 1, got \(b.ropeTheta)") }
    }
    if let groups = b.sharedLayerGroups, groups < 1 || layers % groups != 0 {
      throw ConfigurationError("\(.sharedLayerGroups) \(groups) must divide \(.layers) \(layers) (ALBERT's layer groups)")
    }
    if let e = b.embeddingSize, e < 1 { throw ConfigurationError("\(.embeddingSize) must be positive, got \(e)") }
    if randomBiases && !b.biases {
      throw ConfigurationError("\(.randomBiases): the \(architecture.rawValue) block has no biases (pass \(.biases) to add them)")
    }
    if input == .bertEmbeddings && b.embeddingLayer != .bert {
      throw ConfigurationError("\(.input) bert-embeddings: the \(architecture.rawValue) embedding layer is not BERT's; use \(.input) embeddings")
    }
    if (input == .bertEmbeddings || input == .embeddings), inputRank != nil {
      throw ConfigurationError("\(.inputRank) gives a Gaussian input of that rank; it cannot be combined with \(.input) \(input.rawValue)")
    }
  }
}
