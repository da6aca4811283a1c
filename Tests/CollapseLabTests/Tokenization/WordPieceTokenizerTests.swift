@testable import CollapseLab
import Foundation
import Testing

@Suite("WordPiece tokenizer (HF BertTokenizer semantics)")
struct WordPieceTokenizerTests {
  /// HF's unit-test vocabulary: ids 0…14.
  let toy = try! WordPieceTokenizer(pieces: Array(tinyVocabulary.prefix(15)))

  private func pieces(_ text: String, _ tokenizer: WordPieceTokenizer? = nil) -> [String] {
    let t = tokenizer ?? toy
    return t.encode(text).map { t.pieces[Int($0)] }
  }

  @Test func knownAnswersOfHFTests() {
    #expect(toy.encode("UNwant\u{00E9}d,running") == [9, 6, 7, 12, 10, 11])
    #expect(pieces("unwantedX running") == ["[UNK]", "runn", "##ing"])
    #expect(toy.encode("\u{200E}\u{200F}").isEmpty)
    #expect(toy.encode("\u{00AD}").isEmpty)
    #expect(toy.encodeWithSpecialTokens("unwanted") == [1, 9, 6, 7, 2])
  }

  @Test func basicTokenizationCleansSplitsAndLowerCases() {
    let words = toy.basicTokens(" \tHeLLo!how  \n Are yoU?  ").map { String(String.UnicodeScalarView($0)) }
    #expect(words == ["hello", "!", "how", "are", "you", "?"])
    // CJK ideographs stand alone; control characters vanish; U+3000 is a space.
    let cjk = toy.basicTokens("ah\u{535A}\u{63A8}zz\u{0007}x\u{3000}y").map { String(String.UnicodeScalarView($0)) }
    #expect(cjk == ["ah", "\u{535A}", "\u{63A8}", "zzx", "y"])
  }

  @Test func accentsAreKeptWhenAskedOrWithoutLowerCasing() throws {
    let keep = try WordPieceTokenizer(pieces: Array(tinyVocabulary.prefix(15)), lowercase: true, stripAccents: false)
    #expect(keep.basicTokens("HäLLo").map { String(String.UnicodeScalarView($0)) } == ["hällo"])
    let cased = try WordPieceTokenizer(pieces: Array(tinyVocabulary.prefix(15)), lowercase: false)
    #expect(cased.basicTokens("HäLLo").map { String(String.UnicodeScalarView($0)) } == ["HäLLo"])
    let strip = try WordPieceTokenizer(pieces: Array(tinyVocabulary.prefix(15)), lowercase: false, stripAccents: true)
    #expect(strip.basicTokens("HäLLo").map { String(String.UnicodeScalarView($0)) } == ["HaLLo"])
  }

  @Test func wordsOverOneHundredCharactersAreUnknown() throws {
    let tokenizer = try WordPieceTokenizer(pieces: Array(tinyVocabulary.prefix(15)) + ["a", "##a"])
    let a = tokenizer.vocabulary["a"]!, continued = tokenizer.vocabulary["##a"]!
    #expect(tokenizer.encode(String(repeating: "a", count: 100)) == [a] + [Int32](repeating: continued, count: 99))
    #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [tokenizer.unknownID])
  }

  @Test func windowsWrapConsecutiveChunksAndDropThePartialOne() throws {
    let ids = toy.encode("want low lowest , want")  // 5 tokens
    let windows = try toy.windows(of: "want low lowest , want", sequenceLength: 4, source: "t")
    #expect(windows == [[1, ids[0], ids[1], 2], [1, ids[2], ids[3], 2]])
    #expect(throws: CheckpointError.self) { try toy.windows(of: "want", sequenceLength: 4, source: "t") }
    do { _ = try toy.windows(of: "want", sequenceLength: 8, source: "short.txt") } catch {
      #expect(error.description == "text short.txt: 1 tokens, but one window of sequenceLength 8 needs 6 (plus [CLS] and [SEP])")
      #expect(error.message.settings == [.text, .sequenceLength])
    }
  }

  @Test func randomTokensAreDistinctAndNeverSpecial() throws {
    let tokenizer = try WordPieceTokenizer(pieces: tinyVocabulary)
    let candidates = tokenizer.nonSpecialIDs
    #expect(!candidates.contains { tinyVocabulary[Int($0)].hasPrefix("[") })
    for sample in 0..<20 as Range<UInt64> {
      let ids = TokenInput.randomTokens(candidates: candidates).tokens(sample: sample, sequenceLength: 12, tokenizer: tokenizer, seed: 3)
      #expect(ids.count == 12 && ids.first == tokenizer.classifierID && ids.last == tokenizer.separatorID)
      #expect(Set(ids.dropFirst().dropLast()).count == 10)
      #expect(ids.dropFirst().dropLast().allSatisfy { candidates.contains($0) })
    }
  }
}
