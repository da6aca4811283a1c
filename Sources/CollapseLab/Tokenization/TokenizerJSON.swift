import Foundation

/// The parts of a Hugging Face `tokenizer.json` a byte-level BPE needs: the
/// model's vocabulary and merges, the added tokens, which of the implemented
/// pre-tokenizers its `pre_tokenizer` is, and the token its post-processor
/// puts first. Anything else (another model type, a normalizer, an unknown
/// pre-tokenizer) is refused by name, so that no text is tokenized otherwise
/// than HF would.
public struct TokenizerJSON: Sendable {
  public let path: String
  /// Tokens by id (the vocabulary's and the added tokens').
  public let tokens: [String]
  /// "a b" in rank order.
  public let merges: [String]
  public let specialTokenIDs: [Int32]
  /// Added tokens, special or not: matched literally before pre-tokenization.
  public let addedTokenIDs: [Int32]
  public let preTokenizer: ByteLevelBPETokenizer.PreTokenizer?
  /// Why the pre-tokenizer is not one implemented here, when it is not.
  public let preTokenizerProblem: SettingMessage?
  public let ignoresMerges: Bool
  /// The special token the post-processor's single-sequence template puts first (Llama 3's BOS).
  public let prependedTokenID: Int32?
  public let modelType: String

  public init(contentsOf url: URL) throws(CheckpointError) {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError("\(url.path): missing or unreadable") }
    try self.init(data: data, path: url.path)
  }

  public init(data: Data, path: String) throws(CheckpointError) {
    self.path = path
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw CheckpointError("\(path): not a JSON object")
    }
    guard let model = root["model"] as? [String: Any] else { throw CheckpointError("\(path): no 'model' object") }
    modelType = model["type"] as? String ?? "(missing)"
    guard modelType == "BPE" else {
      throw CheckpointError("\(path): tokenizer model type '\(modelType)' is not implemented (byte-level BPE only); use \(.tokenIDs) FILE")
    }
    guard let vocabulary = model["vocab"] as? [String: Any] else { throw CheckpointError("\(path): model.vocab is not an object of token to id") }
    var byID: [Int: String] = [:]
    for (token, value) in vocabulary {
      guard let id = (value as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), id >= 0, id < 10_000_000 else {
        throw CheckpointError("\(path): model.vocab['\(token)'] is not a token id (\(value))")
      }
      byID[id] = token
    }
    var added: [Int32] = [], special: [Int32] = []
    for case let entry as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
      guard let id = (entry["id"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), id >= 0, id < 10_000_000,
        let content = entry["content"] as? String
      else { throw CheckpointError("\(path): an added_tokens entry lacks an integer 'id' or a string 'content'") }
      byID[id] = content
      added.append(Int32(id))
      if entry["special"] as? Bool ?? false { special.append(Int32(id)) }
    }
    let count = (byID.keys.max() ?? -1) + 1
    var tokens = [String](repeating: "", count: count)
    for (id, token) in byID { tokens[id] = token }
    if byID.count != count { throw CheckpointError("\(path): token ids are not contiguous (\(byID.count) tokens, largest id \(count - 1))") }
    self.tokens = tokens
    var merges: [String] = []
    for item in model["merges"] as? [Any] ?? [] {
      if let text = item as? String { merges.append(text) } else if let pair = item as? [String], pair.count == 2 {
        merges.append(pair[0] + " " + pair[1])
      } else {
        throw CheckpointError("\(path): model.merges holds \(item), neither \"a b\" nor [\"a\", \"b\"]")
      }
    }
    self.merges = merges
    specialTokenIDs = special
    addedTokenIDs = added
    ignoresMerges = model["ignore_merges"] as? Bool ?? false
    if let normalizer = root["normalizer"], !(normalizer is NSNull) {
      let type = (normalizer as? [String: Any])?["type"] as? String ?? "?"
      throw CheckpointError("\(path): normalizer '\(type)' is not implemented (byte-level BPE without a normalizer only); use \(.tokenIDs) FILE")
    }
    if model["byte_fallback"] as? Bool == true {
      throw CheckpointError("\(path): BPE with byte_fallback (SentencePiece-style, e.g. Llama 2) is not implemented; use \(.tokenIDs) FILE")
    }
    (preTokenizer, preTokenizerProblem) = Self.recognise(root["pre_tokenizer"], path: path)
    var first: Int32?
    if let post = root["post_processor"] as? [String: Any] {
      let templates = post["type"] as? String == "Sequence" ? (post["processors"] as? [[String: Any]] ?? []) : [post]
      for template in templates where template["type"] as? String == "TemplateProcessing" {
        if let single = template["single"] as? [[String: Any]], let head = single.first?["SpecialToken"] as? [String: Any],
          let name = head["id"] as? String, let id = tokens.firstIndex(of: name)
        {
          first = Int32(id)
        }
      }
    }
    prependedTokenID = first
  }

  /// Which implemented pre-tokenizer `value` is: GPT-2's ByteLevel with its
  /// expression, SmolLM's Digits(individual) + ByteLevel, or Llama 3's Split
  /// with its expression + ByteLevel without one.
  private static func recognise(_ value: Any?, path: String) -> (ByteLevelBPETokenizer.PreTokenizer?, SettingMessage?) {
    func isByteLevel(_ p: [String: Any], regex: Bool) -> Bool {
      p["type"] as? String == "ByteLevel" && (p["add_prefix_space"] as? Bool ?? false) == false && (p["use_regex"] as? Bool ?? true) == regex
    }
    guard let p = value as? [String: Any] else { return (nil, "\(path): no pre_tokenizer (byte-level BPE needs one)") }
    if isByteLevel(p, regex: true) { return (.gpt2, nil) }
    if p["type"] as? String == "Sequence", let steps = p["pretokenizers"] as? [[String: Any]], steps.count == 2 {
      if steps[0]["type"] as? String == "Digits", steps[0]["individual_digits"] as? Bool == true, isByteLevel(steps[1], regex: true) {
        return (.smollm, nil)
      }
      if steps[0]["type"] as? String == "Split", let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String,
        pattern == ByteLevelBPETokenizer.PreTokenizer.llamaBPE.pattern, steps[0]["behavior"] as? String == "Isolated",
        steps[0]["invert"] as? Bool != true, isByteLevel(steps[1], regex: false)
      {
        return (.llamaBPE, nil)
      }
    }
    let data = (try? JSONSerialization.data(withJSONObject: p, options: [.sortedKeys])).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
    return (nil, "\(path): pre_tokenizer \(data.prefix(160)) is not one implemented (GPT-2's ByteLevel, SmolLM's Digits + ByteLevel, Llama 3's Split + ByteLevel); use \(.tokenIDs) FILE")
  }
}

extension ByteLevelBPETokenizer {
  /// The tokenizer a tokenizer.json describes (see `TokenizerJSON` for what is refused).
  public init(tokenizerJSON description: TokenizerJSON) throws(CheckpointError) {
    guard let preTokenizer = description.preTokenizer else {
      throw CheckpointError(description.preTokenizerProblem ?? "\(description.path): unsupported pre_tokenizer")
    }
    try self.init(
      tokens: description.tokens, merges: description.merges, special: description.addedTokenIDs, preTokenizer: preTokenizer,
      ignoresMerges: description.ignoresMerges)
  }
}
