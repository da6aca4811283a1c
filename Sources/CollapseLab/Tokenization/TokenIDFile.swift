import Foundation

/// Windows of token ids from a JSON-lines file (`--token-ids FILE`): one JSON
/// array of integers per non-empty line, each exactly `sequenceLength` ids in
/// 0..<`vocabularySize`, used as they are (no special tokens added). The way
/// in for tokenizers this package does not implement.
public func tokenIDWindows(_ data: Data, source: String, sequenceLength n: Int, vocabularySize: Int) throws(CheckpointError) -> [[Int32]] {
  guard let text = String(data: data, encoding: .utf8) else { throw CheckpointError("\(.tokenIDs) \(source): not UTF-8") }
  var windows: [[Int32]] = []
  for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { continue }
    // A flat array of decimal integers: parsed by hand, so that 1.0, true or
    // 1e3 are refused rather than converted.
    guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else {
      throw CheckpointError("\(.tokenIDs) \(source): line \(number + 1) is not a JSON array of integers")
    }
    let body = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
    var ids: [Int32] = []
    for entry in body.isEmpty ? [] : body.split(separator: ",", omittingEmptySubsequences: false) {
      let token = entry.trimmingCharacters(in: .whitespaces)
      guard let id = Int(token), (0..<vocabularySize).contains(id) else {
        throw CheckpointError("\(.tokenIDs) \(source): line \(number + 1) holds '\(token)', not a token id in 0..<\(vocabularySize)")
      }
      ids.append(Int32(id))
    }
    guard ids.count == n else {
      throw CheckpointError("\(.tokenIDs) \(source): line \(number + 1) has \(ids.count) ids; every window must have \(.sequenceLength) \(n)")
    }
    windows.append(ids)
  }
  if windows.isEmpty { throw CheckpointError("\(.tokenIDs) \(source): no windows (one JSON array of ids per line)") }
  return windows
}
