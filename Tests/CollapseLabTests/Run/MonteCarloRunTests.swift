@testable import CollapseLab
import Foundation
import RankKernels
import Synchronization
import Testing

/// A small encoder (fast in debug builds) with BERT's structure.
func smallConfiguration(layers: Int = 3) -> ModelConfiguration {
  var c = ModelConfiguration()
  c.layers = layers
  c.modelDimension = 32
  c.heads = 4
  c.feedForwardDimension = 64
  c.sequenceLength = 8
  return c
}

@Suite("Monte Carlo runs are reproducible", .temporaryDirectories)
struct MonteCarloRunTests {
  let identity = RunIdentity(configuration: smallConfiguration(), seed: 11, samples: 40, engine: .dense, blockSize: 16)

  private func uninterrupted(threads: Int = 2) throws -> RunState {
    var options = ExecutionOptions()
    options.threads = threads
    return try MonteCarloRun(identity: identity, engine: DenseEngine()).run(options: options).state
  }

  @Test func resultsDoNotDependOnThreadCount() throws {
    let one = try uninterrupted(threads: 1), three = try uninterrupted(threads: 3)
    #expect(Summary(state: one).moments == Summary(state: three).moments)
    #expect(one.tallies == three.tallies)
  }

  /// Weights of scale 1e30 overflow Float32 in the first layer (both
  /// engines); weights of 1e-30 underflow the attention output to an all-zero
  /// (collapsed) state that LayerNorm with eps 0 turns into NaN. Both are
  /// counted per (variant, layer), never as full rank, and warned about.
  @Test(arguments: [(EngineKind.dense, Float(1e30), Float(1e-12)), (.sketch, 1e30, 1e-12), (.dense, 1e-30, 0)])
  func nonFiniteActivationsAreCountedNotHidden(engine: EngineKind, sigma: Float, eps: Float) throws {
    var c = smallConfiguration(layers: 2)
    c.weightScale = sigma
    c.layerNormEpsilon = eps
    c.variants = [try Variant(parsing: "attn+ln"), try Variant(parsing: "attn+res+ln+mlp")]
    let identity = RunIdentity(configuration: c, seed: 3, samples: 16, engine: engine, blockSize: 16)
    let forward = engine.makeRandomModelEngine()!
    let summary = Summary(state: try MonteCarloRun(identity: identity, engine: forward).run().state)
    #expect(summary.nonFiniteCount(variant: 0, layer: 0) == 0)
    #expect(summary.nonFiniteCount(variant: 0, layer: 1) == 16)
    let full = summary.fullRankFraction(variant: 0, layer: 2, affine: false)
    #expect(full.count == 0 && full.of == 16)
    #expect(summary.nonFiniteWarning()?.contains("attn+ln from layer 1") == true)
    let layer = ((summary.jsonObject()["variants"] as! [String: Any])["attn+ln"] as! [String: Any])["layers"] as! [[String: Any]]
    #expect(layer[2]["nonfinite_count"] as? Int == 16)
  }

  @Test func pendingBlocksAreTheGapsInOrder() {
    var pending = PendingBlocks(owned: 10..<30, covered: [0..<12, 14..<16, 20..<25, 40..<50])
    #expect(pending.ranges == [12..<14, 16..<20, 25..<30])
    #expect(pending.take(3) == [12, 13, 16])
    #expect(pending.take(100) == [17, 18, 19, 25, 26, 27, 28, 29])
    #expect(pending.isEmpty)
  }

  /// Samples below 2⁴⁰ keep their stream ids; above, the high bits go to the
  /// family, so sample 2⁴⁰ + k does not reuse sample k's numbers.
  @Test func sampleStreamsStayDistinctBeyondFortyBits() {
    let low = sampleStream(seed: 1, sample: 77, layer: 3, .query)
    #expect(low.stream == (77 << 16) | (3 << 5) | StreamPurpose.query.rawValue && low.family == 0)
    let high = sampleStream(seed: 1, sample: (1 << 40) + 77, layer: 3, .query)
    #expect(high.stream == low.stream && high.family == 1)
    #expect(sampleStream(seed: 1, sample: 77, layer: 3, .query, tag: 2).stream == low.stream | (2 << 56))
  }

  /// A run of 10¹⁵ samples holds O(log blocks) state: its last shard (sample
  /// indices near 10¹⁵, above 2⁴⁰) runs a batch, stops, and resumes to the
  /// same blocks a single uninterrupted pass gives, with a state of a few nodes.
  @Test func hugeSampleCountsKeepBoundedState() throws {
    var c = smallConfiguration(layers: 1)
    c.variants = [Variant()]
    let identity = RunIdentity(configuration: c, seed: 5, samples: 1_000_000_000_000_000, engine: .dense, blockSize: 16)
    let shard = Shard(index: 999_999, count: 1_000_000)
    let run = MonteCarloRun(identity: identity, shard: shard, engine: DenseEngine())
    func stopAfter(_ batches: Int) -> @Sendable () -> Bool {
      let calls = Mutex(0)
      return { calls.withLock { $0 += 1; return $0 > batches } }
    }
    var options = ExecutionOptions()
    options.blocksPerBatch = 3
    options.threads = 2
    let first = try run.run(options: options, shouldStop: stopAfter(1)).state
    let resumed = try run.run(resuming: first, options: options, shouldStop: stopAfter(1)).state
    options.blocksPerBatch = 6
    options.threads = 1
    let straight = try run.run(options: options, shouldStop: stopAfter(1)).state
    #expect(resumed.completedSamples == 96 && straight.completedSamples == 96)
    #expect(resumed.tree == straight.tree)
    #expect(resumed.tree.nodes.count <= 3)
    #expect(resumed.tree.coveredBlocks.first?.lowerBound == shard.blocks(of: identity.totalBlocks).lowerBound)
  }

  @Test func shardedAndMergedEqualsUnsharded() throws {
    let whole = try uninterrupted()
    var directories: [URL] = []
    for k in 0..<3 {
      let directory = temporaryDirectory("shard\(k)")
      var options = ExecutionOptions()
      options.outputDirectory = directory
      _ = try MonteCarloRun(identity: identity, shard: Shard(index: k, count: 3), engine: DenseEngine()).run(options: options)
      directories.append(directory)
    }
    let merged = try mergeResults(from: directories.reversed())
    let mergedSummary = Summary(state: merged), wholeSummary = Summary(state: whole)
    #expect(mergedSummary.isComplete && wholeSummary.isComplete)
    #expect(mergedSummary.moments == wholeSummary.moments)  // bit for bit
    #expect(merged.tallies == whole.tallies)
    #expect(merged.completedSamples == 40)
    // Merging a shard twice is refused.
    #expect(throws: ConfigurationError.self) { try mergeResults(from: [directories[0], directories[0]]) }
  }

  @Test func interruptedAndResumedEqualsUninterrupted() throws {
    let whole = try uninterrupted()
    let directory = temporaryDirectory("resume")
    var options = ExecutionOptions()
    options.outputDirectory = directory
    options.perSample = true
    options.blocksPerBatch = 1  // stop checks at every block boundary
    let calls = Counter()
    let run = MonteCarloRun(identity: identity, engine: DenseEngine())
    // Stop before the second block, as SIGINT would.
    let first = try run.run(options: options, shouldStop: { calls.increment() >= 2 })
    guard case .interrupted(let partial) = first else { Issue.record("run was not interrupted"); return }
    #expect(partial.completedSamples == 16)
    // Simulate a crash that left rows of an unfinished block in the CSV.
    let csv = directory.appendingPathComponent("samples.csv")
    let handle = try FileHandle(forWritingTo: csv)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("garbage,from,a,killed,process\n".utf8))
    try handle.close()
    let saved = try RunState.read(from: directory)
    let resumed = try run.run(resuming: saved, options: options)
    guard case .completed(let final) = resumed else { Issue.record("resume did not complete"); return }
    #expect(Summary(state: final).moments == Summary(state: whole).moments)
    #expect(final.tallies == whole.tallies)
    let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
    #expect(rows.count == 1 + 40 * identity.configuration.variants.count * (identity.configuration.layers + 1))
    #expect(!rows.contains { $0.hasPrefix("garbage") })
    // A different configuration cannot resume these results.
    var other = identity
    other.seed = 12
    #expect(throws: ConfigurationError.self) { try MonteCarloRun(identity: other, engine: DenseEngine()).run(resuming: saved) }
  }

  /// A run killed before its first checkpoint may leave a torn header or
  /// rows of blocks its state does not have; the next start rewrites the
  /// file, so it equals an undisturbed run's byte for byte.
  @Test(arguments: ["sam", "sample,window,variant\n0,,attn,0,1,2\n"])
  func startKilledBeforeItsFirstCheckpointLeavesNoTrace(leftover: String) throws {
    func csv(after prepare: (URL) throws -> Void) throws -> Data {
      let directory = temporaryDirectory("torn")
      try prepare(directory)
      var options = ExecutionOptions()
      options.outputDirectory = directory
      options.perSample = true
      _ = try MonteCarloRun(identity: identity, engine: DenseEngine()).run(options: options)
      return try Data(contentsOf: directory.appendingPathComponent("samples.csv"))
    }
    let clean = try csv { _ in }
    let afterTornHeader = try csv { try Data(leftover.utf8).write(to: $0.appendingPathComponent("samples.csv")) }
    #expect(afterTornHeader == clean)
    let afterEmptyState = try csv { directory in
      try RunState(identity: identity, shard: .whole).write(to: directory)
      try Data(leftover.utf8).write(to: directory.appendingPathComponent("samples.csv"))
    }
    #expect(afterEmptyState == clean)
  }

  @Test func corruptedStateIsDetected() throws {
    let directory = temporaryDirectory("corrupt")
    var options = ExecutionOptions()
    options.outputDirectory = directory
    _ = try MonteCarloRun(identity: RunIdentity(configuration: smallConfiguration(layers: 1), seed: 1, samples: 4, engine: .dense), engine: DenseEngine()).run(options: options)
    let url = directory.appendingPathComponent(RunState.fileName)
    var bytes = try Data(contentsOf: url)
    bytes[bytes.count - 20] ^= 0x01
    try bytes.write(to: url)
    #expect(throws: ConfigurationError.self) { try RunState.read(from: directory) }
  }

  /// The facts the literature predicts at BERT's initialisation scale, on a
  /// 12-layer encoder of reduced width: pure attention loses numerical rank,
  /// every residual variant keeps full rank and full affine rank.
  @Test func pureAttentionCollapsesAndResidualsDoNot() throws {
    var c = smallConfiguration(layers: 12)
    c.modelDimension = 64
    c.feedForwardDimension = 128
    c.sequenceLength = 16
    let state = try MonteCarloRun(identity: RunIdentity(configuration: c, seed: 3, samples: 6, engine: .dense), engine: DenseEngine())
      .run().state
    let summary = Summary(state: state)
    for (v, variant) in c.variants.enumerated() {
      let full = summary.fullRankFraction(variant: v, layer: 12, affine: false)
      let affine = summary.fullRankFraction(variant: v, layer: 12, affine: true)
      if variant.residual {
        #expect(full.count == full.of && affine.count == affine.of, "\(variant)")
        #expect(summary.moments(variant: v, layer: 12, .residualRatio).minimum > 0.5)
      } else {
        #expect(full.count == 0, "\(variant) kept full rank")
        #expect(summary.moments(variant: v, layer: 12, .residualRatio).maximum < 1e-6)
      }
    }
    // The input is full rank for every variant.
    #expect(summary.fullRankFraction(variant: 0, layer: 0, affine: false).count == 6)
    // summary.json, read back, holds every variant's 13 layers with the fractions above.
    let json = try JSONSerialization.data(withJSONObject: summary.jsonObject())
    let parsed = try #require(JSONSerialization.jsonObject(with: json) as? [String: Any])
    let variants = try #require(parsed["variants"] as? [String: [String: Any]])
    #expect(Set(variants.keys) == Set(c.variants.map(\.description)))
    for (v, variant) in c.variants.enumerated() {
      let layers = try #require(variants[variant.description]?["layers"] as? [[String: Any]])
      #expect(layers.count == 13)
      let full = summary.fullRankFraction(variant: v, layer: 12, affine: false)
      #expect(layers[12]["full_rank_fraction"] as? Double == Double(full.count) / Double(full.of), "\(variant)")
      #expect((layers[12]["rank_histogram"] as? [Int])?.reduce(0, +) == full.of)
    }
    // The file `write(to:)` leaves reads back as the same document.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("summary-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try summary.write(to: directory)
    let file = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("summary.json")))
    #expect(canonicalJSON(file) == canonicalJSON(parsed))
    // The table has a row per variant; the plot a curve and a legend entry per variant in each panel.
    let table = summary.table()
    for variant in c.variants { #expect(table.contains("\n\(variant.description) ")) }
    let svg = layerPlotSVG(summary)
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    #expect(svg.components(separatedBy: "stroke-width=\"2\"").count - 1 == 3 * c.variants.count)
    for variant in c.variants { #expect(svg.contains(">\(variant.description)</text>")) }
  }
}

/// A parsed JSON value as text that ignores key order and how a number was
/// spelled (16 and 16.0 are one value).
func canonicalJSON(_ value: Any) -> String {
  switch value {
  case let object as [String: Any]: "{" + object.keys.sorted().map { "\($0):\(canonicalJSON(object[$0]!))" }.joined(separator: ",") + "}"
  case let array as [Any]: "[" + array.map(canonicalJSON).joined(separator: ",") + "]"
  case let number as NSNumber: "\(number.doubleValue)"
  case let string as String: "\"\(string)\""
  default: "\(value)"
  }
}

final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

@Suite("Randomized rank method", .temporaryDirectories)
struct RandomizedRankMethodTests {
  /// The randomized estimate must give the same ranks as exact singular values,
  /// on full-rank and on collapsed (pure attention) token matrices.
  @Test func agreesWithExactRanks() throws {
    var exact = smallConfiguration(layers: 4)
    exact.sequenceLength = 12
    var randomized = exact
    randomized.rankMethod = .randomized
    let a = try MonteCarloRun(identity: RunIdentity(configuration: exact, seed: 4, samples: 5, engine: .dense), engine: DenseEngine()).run().state
    let b = try MonteCarloRun(identity: RunIdentity(configuration: randomized, seed: 4, samples: 5, engine: .dense), engine: DenseEngine()).run().state
    let identity = a.identity
    for v in exact.variants.indices {
      for layer in 0...exact.layers {
        for metric in [Metric.rank, .affineRank] {
          let entry = identity.entry(variant: v, layer: layer, metric: metric.index)
          #expect(a.tallies.counts[entry] == b.tallies.counts[entry], "\(exact.variants[v]) layer \(layer) \(metric)")
        }
        let sigmaA = Summary(state: a).moments(variant: v, layer: layer, .sigmaMax).mean
        let sigmaB = Summary(state: b).moments(variant: v, layer: layer, .sigmaMax).mean
        #expect(abs(sigmaA - sigmaB) <= 1e-5 * sigmaA)
      }
    }
  }
}
