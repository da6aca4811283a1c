import Crypto
import Foundation

/// Several hidden-state files (shards of one export) measured as one run:
/// their sequences in the order given, file after file. Every file must
/// have the same number of states, n and d.
public final class HiddenStateDataset: Sendable {
  public let files: [HiddenStateFile]
  /// L + 1, n and d, shared by every file.
  public let stateCount: Int
  public let tokens: Int
  public let width: Int
  /// Sequences over all files.
  public let sequenceCount: Int
  /// The global index of each file's first sequence.
  private let firstSequence: [Int]

  public init(files: [HiddenStateFile]) throws(CheckpointError) {
    guard let first = files.first else { throw CheckpointError("measure: no input files") }
    for file in files.dropFirst() {
      if (file.stateCount, file.tokens, file.width) != (first.stateCount, first.tokens, first.width) {
        throw CheckpointError(
          "\(file.path): \(file.stateCount) states of [\(file.sequences), \(file.tokens), \(file.width)] but \(first.path) has \(first.stateCount) of [\(first.sequences), \(first.tokens), \(first.width)]: states, n and d must agree across files")
      }
      if file.rowSelection != first.rowSelection {
        throw CheckpointError("\(file.path): rows chosen by \(file.rowSelection) but \(first.path) by \(first.rowSelection): give every file the same kind")
      }
    }
    self.files = files
    stateCount = first.stateCount
    tokens = first.tokens
    width = first.width
    var starts: [Int] = []
    var total = 0
    for file in files {
      starts.append(total)
      total += file.sequences
    }
    firstSequence = starts
    sequenceCount = total
  }

  /// Opens every path in order.
  public convenience init(paths: [String]) throws(CheckpointError) {
    var files: [HiddenStateFile] = []
    for path in paths { files.append(try HiddenStateFile(path: path)) }
    try self.init(files: files)
  }

  /// The file holding global sequence `sequence` and its index there.
  func locate(_ sequence: Int) -> (file: HiddenStateFile, local: Int) {
    // The last file whose first sequence is at or before `sequence`.
    var low = 0, high = files.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if firstSequence[middle] <= sequence { low = middle } else { high = middle - 1 }
    }
    return (files[low], sequence - firstSequence[low])
  }

  /// The run identity's record of these files: their SHA-256s (read once,
  /// in 8 MB pieces), formats and metadata.
  public func source() throws(CheckpointError) -> MeasuredStatesSource {
    var records: [MeasuredStatesSource.File] = []
    for file in files {
      records.append(
        MeasuredStatesSource.File(
          path: file.path, sha256: try sha256Hex(ofFileAt: file.file), format: file.format.rawValue, layout: file.layout,
          elementType: file.elementType.rawValue, sequences: file.sequences))
    }
    return MeasuredStatesSource(files: records, rowSelection: files[0].rowSelection, metadata: files[0].metadata)
  }

  /// The configuration of a run measuring these files.
  public func configuration(source: MeasuredStatesSource) -> ModelConfiguration {
    ModelConfiguration(measuring: source, states: stateCount, sequenceLength: tokens, width: width)
  }
}

/// SHA-256 of a whole file, streamed (the file is not held in memory).
func sha256Hex(ofFileAt file: ReadOnlyFile) throws(CheckpointError) -> String {
  var hasher = SHA256()
  let piece = 8 << 20
  var buffer = [UInt8](repeating: 0, count: piece)
  var offset = 0
  while offset < file.length {
    let count = min(piece, file.length - offset)
    var failure: CheckpointError?
    buffer.withUnsafeMutableBytes { raw in
      do throws(CheckpointError) {
        try file.read(into: raw.baseAddress!, count: count, at: offset)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[0..<count]))
      } catch { failure = error }
    }
    if let failure { throw failure }
    offset += count
  }
  return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}
