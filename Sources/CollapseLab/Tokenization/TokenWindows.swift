import Foundation
import RankKernels

/// Inputs of a trained checkpoint: sequences of token ids, each
/// `[CLS] … [SEP]`, at positions 0…n−1 with token type 0.
public enum TokenInput: Sendable {
  /// Consecutive windows of a tokenized text; sample i uses window i mod W.
  case windows([[Int32]])
  /// n − 2 distinct ids drawn per sample from these (the non-special vocabulary).
  case randomTokens(candidates: [Int32])

  /// The ids of sample `sample`.
  func tokens(sample: UInt64, sequenceLength n: Int, tokenizer: WordPieceTokenizer, seed: UInt64) -> [Int32] {
    switch self {
    case .windows(let windows):
      return windows[Int(sample % UInt64(windows.count))]
    case .randomTokens(let candidates):
      let chosen = distinctRandomTokens(count: n - 2, from: candidates, sample: sample, seed: seed)
      return [tokenizer.classifierID] + chosen + [tokenizer.separatorID]
    }
  }
}

/// `count` distinct ids drawn uniformly, in order of drawing, from
/// `candidates` by the sample's input stream (position k: the k-th try).
func distinctRandomTokens(count: Int, from candidates: [Int32], sample: UInt64, seed: UInt64) -> [Int32] {
  let stream = sampleStream(seed: seed, sample: sample, layer: 0, .input)
  var chosen: [Int32] = [], seen: Set<Int32> = []
  var position: UInt64 = 0
  while chosen.count < count {
    // Uniform in (0, 1) with 23 bits: exact for vocabularies below 2²³.
    let index = min(candidates.count - 1, Int(stream.uniform(at: position) * Float(candidates.count)))
    position += 1
    if seen.insert(candidates[index]).inserted { chosen.append(candidates[index]) }
  }
  return chosen
}

extension WordPieceTokenizer {
  /// Every id whose piece is not bracketed ([PAD], [UNK], [CLS], [SEP],
  /// [MASK], [unusedN]: special or never trained).
  public var nonSpecialIDs: [Int32] {
    pieces.indices.filter { !(pieces[$0].hasPrefix("[") && pieces[$0].hasSuffix("]")) }.map { Int32($0) }
  }

  /// `count` random-token inputs of `length` ids (as `--input random-tokens`
  /// gives samples 0 ..< count).
  public func randomTokenSequences(count: Int, length: Int, seed: UInt64) -> [[Int32]] {
    let input = TokenInput.randomTokens(candidates: nonSpecialIDs)
    return (0..<count).map { input.tokens(sample: UInt64($0), sequenceLength: length, tokenizer: self, seed: seed) }
  }

  /// The whole text tokenized without special tokens, cut into consecutive
  /// chunks of n − 2 tokens, each wrapped `[CLS] chunk [SEP]`; the last
  /// partial chunk is dropped.
  public func windows(of text: String, sequenceLength n: Int, source: String) throws(CheckpointError) -> [[Int32]] {
    let ids = encode(text)
    let chunk = n - 2
    guard chunk >= 1, ids.count >= chunk else {
      throw CheckpointError("\(.text) \(source): \(ids.count) tokens, but one window of \(.sequenceLength) \(n) needs \(chunk) (plus [CLS] and [SEP])")
    }
    return stride(from: 0, through: ids.count - chunk, by: chunk).map { start in
      [classifierID] + ids[start..<(start + chunk)] + [separatorID]
    }
  }
}
