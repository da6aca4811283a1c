import Foundation

/// Appends per-sample rows to `samples.csv`; on resume, first cuts the file
/// back to the bytes that belong to completed blocks.
final class PerSampleWriter: @unchecked Sendable {
  let handle: FileHandle
  var pending = Data()
  var written: Int

  init?(directory: URL?, state: RunState, identity: RunIdentity) throws {
    guard let directory else { return nil }
    let url = directory.appendingPathComponent("samples.csv")
    let header = Data(("sample,window,variant,layer," + Metric.allCases.map(\.rawValue).joined(separator: ",") + ",rank_tolerance\n").utf8)
    // No block completed yet: a fresh run, or one killed before its first
    // checkpoint, whose file may hold a torn header or rows of blocks the
    // state does not have. Start the file anew (atomically).
    let fresh = state.tree.completedBlocks == 0
    if fresh || !FileManager.default.fileExists(atPath: url.path) { try writeAtomically(header, to: url) }
    handle = try FileHandle(forUpdating: url)
    let end = Int(try handle.seekToEnd())
    // Otherwise keep exactly the bytes of the completed blocks.
    let keep = fresh ? header.count : (state.perSampleBytes ?? end)
    try handle.truncate(atOffset: UInt64(keep))
    try handle.seek(toOffset: UInt64(keep))
    written = keep
  }

  func append(samples: Range<Int>, results: [SampleMetrics], configuration c: ModelConfiguration) throws {
    var text = ""
    let scale = c.rankToleranceFactor * Double(max(c.sequenceLength, c.modelDimension)) * Double(Float.ulpOfOne)
    // The text window a sample ran on (empty unless the input is a text's windows).
    let windows = c.input == .text || c.input == .tokenIDs ? c.checkpoint?.windowCount : nil
    for (offset, sample) in samples.enumerated() {
      let window = windows.map { String(sample % $0) } ?? ""
      for (v, variant) in c.variantLabels.enumerated() {
        for layer in 0...c.layers {
          let metrics = results[offset][variant: v, layer: layer]
          text += "\(sample),\(window),\(variant),\(layer),"
          text += metrics.values.map { $0.isNaN ? "" : "\($0)" }.joined(separator: ",")
          text += ",\(metrics[.sigmaMax] * scale)\n"
        }
      }
    }
    pending.append(Data(text.utf8))
    if pending.count > 1 << 20 { _ = try flush() }
  }

  /// Writes buffered rows; returns the file length.
  func flush() throws -> Int {
    do {
      if !pending.isEmpty {
        try handle.write(contentsOf: pending)
        written += pending.count
        pending.removeAll(keepingCapacity: true)
      }
      try handle.synchronize()
    } catch {
      // The checkpoint records only bytes written before it, so --resume cuts any partial rows.
      throw ConfigurationError("cannot write samples.csv: \(writeFailureReason(error)); the last checkpoint is intact and \(.resume) continues from it")
    }
    return written
  }
}
