import Foundation

/// GPT-2's byte-level BPE (GPT-2, Llama 3, SmolLM2, Pythia), as HF's
/// `tokenizers` runs it: added (special) tokens split the text first and are
/// matched literally; each remaining span is cut by the pre-tokenizer's
/// regular expression; each piece's UTF-8 bytes are mapped to printable
/// characters (`bytes_to_unicode`) and merged pair by pair, lowest merge rank
/// first, until no ranked pair is left.
public struct ByteLevelBPETokenizer: Sendable {
  /// The pre-tokenizers of `tokenizer.ggml.pre` this implements.
  public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2's expression (also SmolLM's: its digits never merge).
    case gpt2
    case smollm
    /// Llama 3's expression: case-insensitive contractions, numbers in groups of up to three.
    case llamaBPE = "llama-bpe"

    var pattern: String {
      switch self {
      case .gpt2, .smollm: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
      case .llamaBPE:
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
      }
    }
  }

  public let tokens: [String]
  let ids: [String: Int32]
  let ranks: [String: Int]
  /// Added tokens matched literally before pre-tokenization, longest first.
  let specialTokens: [(text: String, id: Int32)]
  let expression: NSRegularExpression
  let byteCharacters: [Character]
  /// tokenizer.json's `ignore_merges` (Llama 3): a piece that is itself a
  /// token is taken whole, without merging.
  let ignoresMerges: Bool

  /// `tokens` and `merges` ("a b", in rank order) as GGUF's `tokenizer.ggml.*`
  /// or tokenizer.json hold them; `special` the ids matched literally.
  public init(
    tokens: [String], merges: [String], special: [Int32], preTokenizer: PreTokenizer, ignoresMerges: Bool = false
  ) throws(CheckpointError) {
    self.tokens = tokens
    self.ignoresMerges = ignoresMerges
    var ids: [String: Int32] = [:]
    for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
    self.ids = ids
    var ranks: [String: Int] = [:]
    for (rank, merge) in merges.enumerated() where ranks[merge] == nil { ranks[merge] = rank }
    self.ranks = ranks
    specialTokens = special.filter { Int($0) < tokens.count }.map { (tokens[Int($0)], $0) }.sorted { $0.0.count > $1.0.count }
    do { expression = try NSRegularExpression(pattern: preTokenizer.pattern) } catch {
      throw CheckpointError("pre-tokenizer \(preTokenizer.rawValue): \(error)")
    }
    byteCharacters = byteToUnicode()
  }

  /// The ids of `text`, special tokens included where they occur literally.
  public func encode(_ text: String) -> [Int32] {
    var result: [Int32] = []
    var rest = Substring(text)
    while !rest.isEmpty {
      // The earliest special token (longest at a position) splits the text.
      var best: (range: Range<Substring.Index>, id: Int32)? = nil
      for (special, id) in specialTokens {
        if let range = rest.range(of: special), best == nil || range.lowerBound < best!.range.lowerBound {
          best = (range, id)
        }
      }
      guard let found = best else {
        encodeOrdinary(String(rest), into: &result)
        break
      }
      encodeOrdinary(String(rest[rest.startIndex..<found.range.lowerBound]), into: &result)
      result.append(found.id)
      rest = rest[found.range.upperBound...]
    }
    return result
  }

  private func encodeOrdinary(_ text: String, into result: inout [Int32]) {
    if text.isEmpty { return }
    let ns = text as NSString
    for match in expression.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
      let piece = ns.substring(with: match.range)
      let mapped = piece.utf8.map { byteCharacters[Int($0)] }
      if ignoresMerges, let id = ids[String(mapped)] {
        result.append(id)
        continue
      }
      for symbol in merge(mapped.map { String($0) }) {
        if let id = ids[symbol] { result.append(id) } else {
          // A symbol outside the vocabulary (never in byte-level vocabularies, which hold all 256 bytes).
          for c in symbol { if let id = ids[String(c)] { result.append(id) } }
        }
      }
    }
  }

  /// BPE: merge the adjacent pair of lowest rank until none is ranked.
  private func merge(_ start: [String]) -> [String] {
    var symbols = start
    while symbols.count > 1 {
      var bestRank = Int.max, bestIndex = -1
      for i in 0..<(symbols.count - 1) {
        if let rank = ranks[symbols[i] + " " + symbols[i + 1]], rank < bestRank {
          bestRank = rank
          bestIndex = i
        }
      }
      if bestIndex < 0 { break }
      // Merge every occurrence of that pair, left to right (as HF does).
      let first = symbols[bestIndex], second = symbols[bestIndex + 1]
      var merged: [String] = []
      var i = 0
      while i < symbols.count {
        if i < symbols.count - 1 && symbols[i] == first && symbols[i + 1] == second {
          merged.append(first + second)
          i += 2
        } else {
          merged.append(symbols[i])
          i += 1
        }
      }
      symbols = merged
    }
    return symbols
  }
}

extension ByteLevelBPETokenizer {
  /// The tokenizer a GGUF file describes (`tokenizer.ggml.model` gpt2):
  /// tokens, merges, control and user-defined tokens (types 3 and 4) as
  /// special, and the pre-tokenizer `tokenizer.ggml.pre` names.
  public init(gguf file: GGUFFile) throws(CheckpointError) {
    guard file.string("tokenizer.ggml.model") == "gpt2" else {
      throw CheckpointError("\(file.path): tokenizer.ggml.model '\(file.string("tokenizer.ggml.model") ?? "(none)")' is not byte-level BPE (gpt2); use \(.tokenIDs) FILE")
    }
    let pre = file.string("tokenizer.ggml.pre") ?? "gpt2"
    guard let preTokenizer = PreTokenizer(rawValue: pre) else {
      throw CheckpointError("\(file.path): pre-tokenizer '\(pre)' is not implemented (known: \(PreTokenizer.allCases.map(\.rawValue).joined(separator: ", "))); use \(.tokenIDs) FILE")
    }
    func strings(_ key: String) throws(CheckpointError) -> [String] {
      guard case .array(let values) = file.metadata[key] else { throw CheckpointError("\(file.path): metadata \(key) missing") }
      var out: [String] = []
      for value in values {
        guard case .string(let s) = value else { throw CheckpointError("\(file.path): metadata \(key) holds a non-string") }
        out.append(s)
      }
      return out
    }
    let tokens = try strings("tokenizer.ggml.tokens")
    let merges = try strings("tokenizer.ggml.merges")
    var special: [Int32] = []
    if case .array(let types) = file.metadata["tokenizer.ggml.token_type"] {
      for (id, type) in types.enumerated() where type.integer == 3 || type.integer == 4 { special.append(Int32(id)) }
    }
    try self.init(tokens: tokens, merges: merges, special: special, preTokenizer: preTokenizer)
  }
}

/// GPT-2's map from bytes to printable characters: the printable Latin-1
/// bytes map to themselves, the other 68 to U+0100 onwards in byte order.
func byteToUnicode() -> [Character] {
  var printable = Array(33...126) + Array(161...172) + Array(174...255)
  var codes = printable
  var next = 0
  for b in 0..<256 where !printable.contains(b) {
    printable.append(b)
    codes.append(256 + next)
    next += 1
  }
  var table = [Character](repeating: " ", count: 256)
  for (b, c) in zip(printable, codes) { table[b] = Character(Unicode.Scalar(UInt32(c))!) }
  return table
}
