@testable import CollapseLab
import Foundation
import RankKernels
import Testing

/// The states of `SyntheticStates` held in memory: the reference the file
/// path must reproduce bit for bit.
private struct InMemoryStates: ForwardEngine {
  let synthetic: SyntheticStates
  var kind: EngineKind { .measure }
  func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let s = Int(sample), n = synthetic.tokens, d = synthetic.width
    return [(0..<synthetic.states).map { l in
      let x = (0..<(n * d)).map { Float(synthetic.values[((l * synthetic.sequences + s) * n) * d + $0]) }
      return x.withUnsafeBufferPointer {
        measure($0.baseAddress!, rows: n, columns: d, attentionEntropy: .nan, rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod)
      }
    }]
  }
}

@Suite("measure: saved states give a run's results, whatever threads, batches and files", .temporaryDirectories)
struct HiddenStateEngineTests {
  let synthetic = SyntheticStates()

  private func summaryVariants(_ state: RunState) throws -> Data {
    let object = Summary(state: state).jsonObject()["variants"]!
    return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
  }

  @Test func streamingEqualsInMemoryForEveryThreadCountAndBatch() throws {
    let directory = temporaryDirectory("measure-engine")
    let whole = directory.appendingPathComponent("all.npy").path
    try Data(HiddenStateWriters.npy(synthetic.values, shape: synthetic.shape, type: "<f4")).write(to: URL(fileURLWithPath: whole))
    // The same sequences split over two files (4 + 7).
    let count = synthetic.count, perSequence = synthetic.tokens * synthetic.width
    var parts: [String] = []
    for (k, range) in [0..<4, 4..<11].enumerated() {
      let values = (0..<synthetic.states).flatMap { l in synthetic.values[(l * count + range.lowerBound * perSequence)..<(l * count + range.upperBound * perSequence)] }
      let path = directory.appendingPathComponent("part\(k).npy").path
      try Data(HiddenStateWriters.npy(Array(values), shape: [4, range.count, 7, 9], type: "<f4")).write(to: URL(fileURLWithPath: path))
      parts.append(path)
    }
    for rankMethod in [RankMethod.gram, .exact] {
      let dataset = try HiddenStateDataset(paths: [whole])
      var c = dataset.configuration(source: try dataset.source())
      c.rankMethod = rankMethod
      try c.validate()
      let identity = RunIdentity(configuration: c, seed: 0, samples: dataset.sequenceCount, engine: .measure, blockSize: 4)
      let reference = try summaryVariants(MonteCarloRun(identity: identity, engine: InMemoryStates(synthetic: synthetic)).run().state)
      for threads in [1, 2, 3] {
        for batch in [1, 2, 5] {
          var options = ExecutionOptions()
          options.threads = threads
          options.blocksPerBatch = batch
          let state = try MonteCarloRun(identity: identity, engine: HiddenStateEngine(dataset: dataset)).run(options: options).state
          #expect(try summaryVariants(state) == reference, "threads \(threads), batch \(batch)")
        }
      }
      let split = try HiddenStateDataset(paths: parts)
      #expect(split.sequenceCount == 11)
      var splitConfiguration = split.configuration(source: try split.source())
      splitConfiguration.rankMethod = rankMethod
      let splitIdentity = RunIdentity(configuration: splitConfiguration, seed: 0, samples: 11, engine: .measure, blockSize: 4)
      #expect(try summaryVariants(MonteCarloRun(identity: splitIdentity, engine: HiddenStateEngine(dataset: split)).run().state) == reference)
    }
  }

  /// Full rank counts each sequence against its own length; the collapsed
  /// and low-rank states read as such.
  @Test func fullRankIsRelativeToEachSequencesRows() throws {
    let lengths = (0..<11).map { 2 + $0 % 6 }
    let members = (0..<4).map { (name: "hidden_states.\($0).npy", bytes: HiddenStateWriters.npy(synthetic.state($0), shape: [11, 7, 9], type: "<f4")) }
      + [(name: "lengths.npy", bytes: HiddenStateWriters.npy(lengths.map(Double.init), shape: [11], type: "<i8"))]
    let path = temporaryDirectory("measure-lengths").appendingPathComponent("s.npz")
    try Data(HiddenStateWriters.zip(members)).write(to: path)
    let dataset = try HiddenStateDataset(paths: [path.path])
    let c = dataset.configuration(source: try dataset.source())
    let state = try MonteCarloRun(identity: RunIdentity(configuration: c, seed: 0, samples: 11, engine: .measure), engine: HiddenStateEngine(dataset: dataset)).run().state
    let summary = Summary(state: state)
    #expect(summary.fullRankFraction(variant: 0, layer: 0, affine: false) == (11, 11))  // Gaussian rows, fewer than d
    #expect(summary.fullRankFraction(variant: 0, layer: 2, affine: true) == (0, 11))  // identical rows
    #expect(summary.moments(variant: 0, layer: 2, .rank).maximum == 1)
    #expect(summary.moments(variant: 0, layer: 3, .rank).maximum == 3)
    #expect(summary.fullRankFraction(variant: 0, layer: 3, affine: false).count == lengths.filter { $0 <= 3 }.count)
    #expect(c.variantLabels == ["measured"])
    #expect(summary.table().contains("measured"))
  }

  /// A file that changes under a run ends it with a message, not a trap.
  @Test func aReadFailureStopsTheRunWithItsMessage() throws {
    let directory = temporaryDirectory("measure-vanish")
    let path = directory.appendingPathComponent("s.npy").path
    try Data(HiddenStateWriters.npy(synthetic.values, shape: synthetic.shape, type: "<f4")).write(to: URL(fileURLWithPath: path))
    let dataset = try HiddenStateDataset(paths: [path])
    let c = dataset.configuration(source: try dataset.source())
    truncate(path, 200)  // after opening: reads past byte 200 now fail
    #expect {
      _ = try MonteCarloRun(identity: RunIdentity(configuration: c, seed: 0, samples: 11, engine: .measure), engine: HiddenStateEngine(dataset: dataset)).run()
    } throws: { error in
      "\(error)".contains("truncated") && "\(error)".contains(path)
    }
  }
}
