import Foundation

/// BERT's WordPiece tokenizer with the semantics of Hugging Face's
/// `BertTokenizer` (google-research/bert's `tokenization.py`):
///
/// 1. clean: drop U+0000, U+FFFD and control characters (category C*, except
///    tab, newline and carriage return); whitespace becomes a space;
/// 2. put spaces around CJK ideographs;
/// 3. split on whitespace; with `lowercase`, lower-case each word and (unless
///    `stripAccents` is false) decompose it (NFD) and drop combining marks
///    (category Mn); with `stripAccents` true alone, only strip;
/// 4. split off every punctuation character (ASCII 33–47, 58–64, 91–96,
///    123–126, or category P*);
/// 5. per word: more than 100 characters gives [UNK]; otherwise greedy
///    longest match first, pieces after the first prefixed `##`; a word with
///    a position that matches nothing becomes [UNK] as a whole.
///
/// Works on Unicode scalars (Python's code points), not on Swift characters.
/// Lower-casing maps each scalar by its full lowercase mapping, as the fast
/// tokenizer does; Python's `str.lower` also applies the final-sigma rule
/// (a word-final Σ becomes ς), which this does not.
public struct WordPieceTokenizer: Sendable {
  /// Piece → id (the line number in vocab.txt, from 0).
  public let vocabulary: [String: Int32]
  /// Id → piece.
  public let pieces: [String]
  public var lowercase: Bool
  /// nil: follow `lowercase` (HF's default).
  public var stripAccents: Bool?
  public var splitChineseCharacters: Bool
  public let unknownID: Int32, classifierID: Int32, separatorID: Int32
  public static let maximumWordLength = 100

  public init(
    pieces: [String], lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true,
    source: String = "vocabulary"
  ) throws(CheckpointError) {
    self.pieces = pieces
    var vocabulary: [String: Int32] = [:]
    for (id, piece) in pieces.enumerated() where vocabulary[piece] == nil { vocabulary[piece] = Int32(id) }
    self.vocabulary = vocabulary
    self.lowercase = lowercase
    self.stripAccents = stripAccents
    self.splitChineseCharacters = splitChineseCharacters
    func special(_ token: String) throws(CheckpointError) -> Int32 {
      guard let id = vocabulary[token] else { throw CheckpointError("\(source): has no \(token) token") }
      return id
    }
    unknownID = try special("[UNK]")
    classifierID = try special("[CLS]")
    separatorID = try special("[SEP]")
  }

  /// Reads `vocab.txt` and, if present, `tokenizer_config.json`
  /// (do_lower_case, strip_accents, tokenize_chinese_chars) from `directory`.
  public init(directory: URL) throws(CheckpointError) {
    let vocabularyURL = directory.appendingPathComponent("vocab.txt")
    guard let data = FileManager.default.contents(atPath: vocabularyURL.path) else {
      throw CheckpointError("\(vocabularyURL.path): missing or unreadable (the WordPiece vocabulary, one piece per line)")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw CheckpointError("\(vocabularyURL.path): not UTF-8") }
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    var lowercase = true, stripAccents: Bool? = nil, chinese = true
    let configURL = directory.appendingPathComponent("tokenizer_config.json")
    if let configData = FileManager.default.contents(atPath: configURL.path) {
      guard let object = (try? JSONSerialization.jsonObject(with: configData)) as? [String: Any] else {
        throw CheckpointError("\(configURL.path): not a JSON object")
      }
      if let value = object["do_lower_case"] as? Bool { lowercase = value }
      if let value = object["strip_accents"] as? Bool { stripAccents = value }
      if let value = object["tokenize_chinese_chars"] as? Bool { chinese = value }
    }
    try self.init(pieces: lines, lowercase: lowercase, stripAccents: stripAccents, splitChineseCharacters: chinese, source: vocabularyURL.path)
  }

  /// Ids of `text` without special tokens.
  public func encode(_ text: String) -> [Int32] {
    var ids: [Int32] = []
    for word in basicTokens(text) { appendWordPieces(of: word, to: &ids) }
    return ids
  }

  /// `[CLS] ids [SEP]`.
  public func encodeWithSpecialTokens(_ text: String) -> [Int32] {
    [classifierID] + encode(text) + [separatorID]
  }

  /// Words after cleaning, CJK spacing, case and accent handling and the
  /// punctuation split (BasicTokenizer), as scalar arrays.
  func basicTokens(_ text: String) -> [[Unicode.Scalar]] {
    var cleaned: [Unicode.Scalar] = []
    cleaned.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
      let value = scalar.value
      if value == 0 || value == 0xFFFD || isControl(scalar) { continue }
      if isWhitespace(scalar) {
        cleaned.append(" ")
      } else if splitChineseCharacters && isChineseCharacter(value) {
        cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
      } else {
        cleaned.append(scalar)
      }
    }
    var words: [[Unicode.Scalar]] = []
    var current: [Unicode.Scalar] = []
    func finishWord() {
      if current.isEmpty { return }
      var word = current
      current.removeAll(keepingCapacity: true)
      if lowercase { word = word.flatMap { Array($0.properties.lowercaseMapping.unicodeScalars) } }
      if stripAccents ?? lowercase { word = strippingAccents(word) }
      // Punctuation split.
      var piece: [Unicode.Scalar] = []
      for scalar in word {
        if isPunctuation(scalar) {
          if !piece.isEmpty { words.append(piece); piece.removeAll() }
          words.append([scalar])
        } else {
          piece.append(scalar)
        }
      }
      if !piece.isEmpty { words.append(piece) }
    }
    for scalar in cleaned {
      if isWhitespace(scalar) { finishWord() } else { current.append(scalar) }
    }
    finishWord()
    return words
  }

  /// Greedy longest-match-first WordPiece of one word.
  func appendWordPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
    if word.count > Self.maximumWordLength { ids.append(unknownID); return }
    var pieceIDs: [Int32] = []
    var start = 0
    while start < word.count {
      var end = word.count
      var match: Int32? = nil
      while start < end {
        var candidate = start > 0 ? "##" : ""
        candidate.unicodeScalars.append(contentsOf: word[start..<end])
        if let id = vocabulary[candidate] { match = id; break }
        end -= 1
      }
      guard let match else { ids.append(unknownID); return }
      pieceIDs.append(match)
      start = end
    }
    ids.append(contentsOf: pieceIDs)
  }

  private func strippingAccents(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var text = ""
    text.unicodeScalars.append(contentsOf: word)
    return text.decomposedStringWithCanonicalMapping.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
  }
}

/// Tab, newline, carriage return and category Zs (as BERT's `_is_whitespace`),
/// plus the other White_Space scalars Python's `str.split` splits on.
private func isWhitespace(_ s: Unicode.Scalar) -> Bool {
  s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.generalCategory == .spaceSeparator || s.properties.isWhitespace
}

/// Category C* except tab, newline and carriage return (BERT's `_is_control`).
private func isControl(_ s: Unicode.Scalar) -> Bool {
  if s == "\t" || s == "\n" || s == "\r" { return false }
  switch s.properties.generalCategory {
  case .control, .format, .unassigned, .privateUse, .surrogate: return true
  default: return false
  }
}

private func isPunctuation(_ s: Unicode.Scalar) -> Bool {
  let v = s.value
  if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
  switch s.properties.generalCategory {
  case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
    .finalPunctuation, .otherPunctuation:
    return true
  default: return false
  }
}

/// The CJK Unified Ideographs blocks of BERT's `_is_chinese_char`.
private func isChineseCharacter(_ v: UInt32) -> Bool {
  (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
    || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
    || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
}
