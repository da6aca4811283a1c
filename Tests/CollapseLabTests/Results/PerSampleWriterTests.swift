@testable import CollapseLab
import Foundation
import Testing

@Suite("samples.csv holds exactly the completed blocks' rows", .temporaryDirectories)
struct PerSampleWriterTests {
  @Test func rowsPerSampleAndResumeCutsBackToTheCheckpoint() throws {
    let directory = temporaryDirectory("csv")
    let c = smallConfiguration(layers: 1)
    let identity = RunIdentity(configuration: c, seed: 1, samples: 32, engine: .dense, blockSize: 16)
    var state = RunState(identity: identity, shard: .whole)
    let url = directory.appendingPathComponent("samples.csv")
    let results = (0..<32).map { DenseEngine().run(sample: UInt64($0), configuration: c, seed: 1) }
    // The writer reads the run's per-sample views of one batch buffer.
    let perSample = SampleMetrics.count(for: c)
    let storage = UnsafeMutableBufferPointer<MetricValues>.allocate(capacity: 32 * perSample)
    defer { storage.deallocate() }
    let views = (0..<32).map {
      SampleMetrics(UnsafeMutableBufferPointer(rebasing: storage[($0 * perSample)..<(($0 + 1) * perSample)]), variants: c.variants.count, layers: c.layers)
    }
    for (view, values) in zip(views, results) { view.assign(values) }

    let writer = try #require(try PerSampleWriter(directory: directory, state: state, identity: identity))
    let header = try String(contentsOf: url, encoding: .utf8)
    #expect(header == "sample,window,variant,layer," + Metric.allCases.map(\.rawValue).joined(separator: ",") + ",rank_tolerance\n")
    try writer.append(samples: 0..<16, results: Array(views[0..<16]), configuration: c)
    let firstBlock = try writer.flush()
    try writer.append(samples: 16..<32, results: Array(views[16..<32]), configuration: c)
    let bothBlocks = try writer.flush()
    // One row per (sample, variant, layer), each with every metric and the tolerance.
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 1 + 32 * c.variants.count * (c.layers + 1))
    #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 5 + Metric.allCases.count })
    #expect(lines[1].hasPrefix("0,,attn,0,") && lines.last!.hasPrefix("31,,\(c.variants.last!),1,"))
    // The sample's rank is written as measured.
    let rankColumn = 4 + Metric.rank.index
    #expect(Double(lines[1].split(separator: ",", omittingEmptySubsequences: false)[rankColumn]) == results[0][0][0][.rank])

    // A checkpoint after the first block: resuming keeps its bytes and drops the rest.
    try state.tree.insert(block: 0, identity.emptyTable)
    state.perSampleBytes = firstBlock
    _ = try #require(try PerSampleWriter(directory: directory, state: state, identity: identity))
    let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
    #expect(size == firstBlock && firstBlock < bothBlocks)
  }
}
