@testable import CollapseLab
import Testing

@Suite("Byte-level BPE")
struct ByteLevelBPETokenizerTests {
  @Test func bytesMapToGPT2sPrintableCharacters() {
    let table = byteToUnicode()
    #expect(Set(table).count == 256)
    #expect(table[Int(UInt8(ascii: "a"))] == "a" && table[33] == "!" && table[255] == "ÿ")
    #expect(table[32] == "Ġ" && table[10] == "Ċ" && table[0] == "Ā")  // space, newline, NUL
  }

  /// A vocabulary of single bytes plus "Ġt", "he", "Ġthe" (merges in that order).
  static func tiny() throws -> ByteLevelBPETokenizer {
    var tokens = byteToUnicode().map(String.init)
    tokens += ["Ġt", "he", "Ġthe", "<|end|>"]
    return try ByteLevelBPETokenizer(
      tokens: tokens, merges: ["Ġ t", "h e", "Ġt he"], special: [Int32(tokens.count - 1)], preTokenizer: .gpt2)
  }

  @Test func mergesByRankAndSplitsOnSpecialTokens() throws {
    let t = try Self.tiny()
    func id(_ piece: String) -> Int32 { Int32(t.tokens.firstIndex(of: piece)!) }
    // "a the": pre-tokens "a", " the"; " the" → Ġ t h e → Ġt h e → Ġt he → Ġthe.
    #expect(t.encode("a the") == [id("a"), id("Ġthe")])
    // "he" alone merges; "eh" has no ranked pair.
    #expect(t.encode("he eh") == [id("he"), id("Ġ"), id("e"), id("h")])
    // The special token is matched literally and splits the text around it.
    #expect(t.encode("the<|end|> the") == [id("t"), id("he"), id("<|end|>"), id("Ġthe")])
    // Bytes of non-ASCII text go through the byte map: é is C3 A9.
    #expect(t.encode("é") == [id("Ã"), id("©")])
  }
}
