import Foundation

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
  /// A norm after each sublayer's skip (BERT's post-LN).
  public var postLayerNorm: Bool
  /// A norm on each sublayer's input (pre-LN).
  public var preLayerNorm: Bool
  /// GPT-NeoX's parallel block: both sublayers read the block's input through
  /// their own norm and their outputs are summed (with the input when `res`):
  /// out = [x +] attn(N₁(x)) [+ mlp(N₂(x))]. One skip, so `res-attn`/`res-mlp` do not apply.
  public var parallelLayerNorm: Bool = false
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
      throw ConfigurationError("variant '\(name)': must start with 'attn' (components: attn, res, res-attn, res-mlp, ln, preln, parln, mlp, pgop)")
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
      case "parln": parallelLayerNorm = true
      case "mlp": mlp = true
      case "pgop": positionGates = true
      case "":
        throw ConfigurationError("variant '\(name)': empty component (two '+' in a row or a trailing '+')")
      default:
        throw ConfigurationError("variant '\(name)': unknown component '\(part)' (expected res, res-attn, res-mlp, ln, preln, parln, mlp or pgop)")
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
    if [postLayerNorm, preLayerNorm, parallelLayerNorm].filter({ $0 }).count > 1 {
      throw ConfigurationError("variant '\(name)': 'ln' (post), 'preln' (pre) and 'parln' (parallel) norm positions exclude each other")
    }
    if parallelLayerNorm && (attentionResidual != feedForwardResidual) && mlp {
      throw ConfigurationError("variant '\(name)': a parallel block has one skip around both sublayers; use 'res', not 'res-attn'/'res-mlp'")
    }
    if parallelLayerNorm && !mlp && !bothResiduals && attentionResidual {
      throw ConfigurationError("variant '\(name)': a parallel block has one skip; use 'res', not 'res-attn'")
    }
  }

  /// The canonical name, components in the order attn, res or res-attn,
  /// ln/preln, mlp, res-mlp, pgop (each residual beside its sublayer).
  public var description: String {
    var parts = ["attn"]
    if residual { parts.append("res") } else if attentionResidual { parts.append("res-attn") }
    if postLayerNorm { parts.append("ln") }
    if preLayerNorm { parts.append("preln") }
    if parallelLayerNorm { parts.append("parln") }
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

  /// Dong et al.'s surgeries for a block with norms at `position`: SAN
  /// (attention and norms only), SAN+MLP (the attention skip removed; in a
  /// parallel block, the one skip removed), SAN+skip (no MLP) and the
  /// unmodified block. For `post` these are `dongSurgeries`.
  public static func dongSurgeries(normPosition position: NormPosition) -> [Variant] {
    let norm = position.variantComponent
    let sanMLP = position == .parallel ? "attn+parln+mlp" : "attn+\(norm)+mlp+res-mlp"
    return ["attn+\(norm)", sanMLP, "attn+res+\(norm)", "attn+res+\(norm)+mlp"].map { try! Variant(parsing: $0) }
  }

  /// The unmodified block with norms at `position`: `attn+res+ln+mlp`, `attn+res+preln+mlp` or `attn+res+parln+mlp`.
  public static func unmodified(normPosition position: NormPosition) -> Variant {
    try! Variant(parsing: "attn+res+\(position.variantComponent)+mlp")
  }

  /// Whether the variant normalises at all (any of `ln`, `preln`, `parln`).
  public var hasNorms: Bool { postLayerNorm || preLayerNorm || parallelLayerNorm }

  /// Parses a comma-separated list, refusing empty entries and variants that
  /// are the same after canonicalisation (`attn+ln+res`, `attn+res+ln`).
  public static func parseList(_ text: String) throws(ConfigurationError) -> [Variant] {
    let entries = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    var variants: [Variant] = []
    for (index, entry) in entries.enumerated() {
      let trimmed = entry.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty {
        throw ConfigurationError("\(.variants) '\(text)': entry \(index + 1) is empty (a doubled, leading or trailing comma)")
      }
      let variant = try Variant(parsing: trimmed)
      if let earlier = variants.firstIndex(of: variant) {
        throw ConfigurationError("\(.variants) '\(text)': '\(trimmed)' is the same variant as '\(entries[earlier].trimmingCharacters(in: .whitespaces))' (\(variant))")
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
