import Foundation
import RankKernels
import Synchronization

/// How a run ended.
public enum RunOutcome: Sendable {
  case completed(RunState)
  /// Stopped on request after finishing the batch of blocks in flight; the
  /// state on disk (if any) resumes exactly.
  case interrupted(RunState)

  public var state: RunState {
    switch self { case .completed(let s), .interrupted(let s): return s }
  }
}

/// Options that change how a run executes but never its numbers.
public struct ExecutionOptions: Sendable {
  public var threads: Int = Threading.defaultThreadCount
  /// Where `state.json`, `summary.json`, `samples.csv` and `plot.svg` go (nil: nowhere).
  public var outputDirectory: URL? = nil
  /// Append one CSV row per (sample, variant, layer) to `samples.csv`.
  public var perSample = false
  /// Seconds between checkpoints of the state.
  public var checkpointInterval: Double = 5
  /// Blocks computed in parallel between two stop/checkpoint checks (nil:
  /// 4 × threads). More blocks per batch keep the workers busy across block
  /// boundaries; fewer make a stop request take effect sooner.
  public var blocksPerBatch: Int? = nil
  /// Receives (completed samples, samples to do, seconds elapsed).
  public var progress: (@Sendable (Int, Int, Double) -> Void)? = nil
  public init() {}
}

/// A Monte Carlo run over samples `0..<identity.samples` (or the shard's part).
///
/// Samples are processed in blocks of `identity.blockSize` consecutive indices,
/// blocks in increasing order (several blocks' samples in parallel at a time). Each
/// block's moments are folded in sample order and inserted into the canonical
/// `ReductionTree`, so the results are bit-identical for any thread count,
/// resume point or sharding.
public struct MonteCarloRun: Sendable {
  public var identity: RunIdentity
  public var shard: Shard
  public var engine: any ForwardEngine

  public init(identity: RunIdentity, shard: Shard = .whole, engine: any ForwardEngine) {
    self.identity = identity
    self.shard = shard
    self.engine = engine
  }

  /// Runs the owned blocks not yet in `resuming` (or all of them), checking
  /// `shouldStop` between batches of blocks (`ExecutionOptions.blocksPerBatch`).
  public func run(
    resuming previous: RunState? = nil, options: ExecutionOptions = ExecutionOptions(),
    shouldStop: @Sendable () -> Bool = { false }
  ) throws -> RunOutcome {
    var state = previous ?? RunState(identity: identity, shard: shard)
    if let previous {
      if let difference = identity.mismatch(with: previous.identity) {
        throw ConfigurationError("cannot resume: the saved run's \(difference)")
      }
      if previous.shard != shard { throw ConfigurationError("cannot resume: the saved run is shard \(previous.shard), not \(shard)") }
    }
    let c = identity.configuration
    let specs = identity.histogramSpecs
    let owned = shard.blocks(of: identity.totalBlocks)
    // The owned blocks not yet covered, as ranges: memory and time stay
    // independent of the sample count (10¹⁵ samples are 6·10¹³ blocks).
    var pending = PendingBlocks(owned: owned, covered: state.tree.coveredBlocks)
    let samplesToDo = pending.ranges.reduce(0) { $0 + sampleCount(ofBlocks: $1) }
    let csv = try options.perSample ? PerSampleWriter(directory: options.outputDirectory, state: state, identity: identity) : nil
    let start = Date()
    let elapsedBefore = state.elapsedSeconds
    var lastCheckpoint = Date()
    var samplesDone = 0
    if let directory = options.outputDirectory { try state.write(to: directory) }

    // Blocks go to the workers in batches (several per thread), so a thread
    // that finishes early takes more samples instead of waiting at a
    // per-block barrier; results are still folded block by block, in order.
    let batchBlocks = max(1, options.blocksPerBatch ?? 4 * options.threads)
    while !pending.isEmpty {
      if shouldStop() {
        state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(start)
        try checkpoint(&state, csv: csv, options: options)
        return .interrupted(state)
      }
      let batch = pending.take(batchBlocks)
      let batchResults = try computeBlocks(batch.map(sampleRange(of:)), threads: options.threads)
      defer { withExtendedLifetime(batchResults) {} }  // the views below point into it
      var offset = 0
      for block in batch {
        let samples = sampleRange(of: block)
        let results = (offset..<(offset + samples.count)).map(batchResults.sample)
        offset += samples.count
        var table = identity.emptyTable
        for values in results {
          for v in 0..<values.variants {
            for layer in 0...values.layers {
              let metrics = values[variant: v, layer: layer]
              for m in 0..<MetricValues.count {
                let value = metrics[index: m]
                let entry = identity.entry(variant: v, layer: layer, metric: m)
                table.entries[entry].add(value)
                state.tallies.add(value, at: entry, spec: specs[entry])
              }
            }
          }
        }
        try state.tree.insert(block: block, table)
        try csv?.append(samples: samples, results: results, configuration: c)
        state.completedSamples += samples.count
        samplesDone += samples.count
      }
      options.progress?(samplesDone, samplesToDo, Date().timeIntervalSince(start))
      if Date().timeIntervalSince(lastCheckpoint) >= options.checkpointInterval {
        state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(start)
        try checkpoint(&state, csv: csv, options: options)
        lastCheckpoint = Date()
      }
    }
    state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(start)
    try checkpoint(&state, csv: csv, options: options)
    return .completed(state)
  }

  private func sampleRange(of block: Int) -> Range<Int> {
    (block * identity.blockSize)..<min(identity.samples, (block + 1) * identity.blockSize)
  }

  private func sampleCount(ofBlocks blocks: Range<Int>) -> Int {
    blocks.isEmpty ? 0 : min(identity.samples, blocks.upperBound * identity.blockSize) - blocks.lowerBound * identity.blockSize
  }

  private func checkpoint(_ state: inout RunState, csv: PerSampleWriter?, options: ExecutionOptions) throws {
    guard let directory = options.outputDirectory else { return }
    if let csv { state.perSampleBytes = try csv.flush() }
    try state.write(to: directory)
    try Summary(state: state).write(to: directory)
  }

  /// The samples of several blocks, computed in parallel (each worker takes
  /// the next unclaimed sample) into one buffer, in sample order.
  /// The first failure of a sample (`ForwardEngine.checkedRun`) is thrown
  /// once the workers stop; nothing of the batch is kept.
  private func computeBlocks(_ blocks: [Range<Int>], threads: Int) throws -> BatchMetrics {
    let samples = blocks.flatMap { Array($0) }
    let configuration = identity.configuration
    let results = BatchMetrics(samples: samples.count, configuration: configuration)
    let engine = self.engine, seed = identity.seed
    let next = Atomic<Int>(0)
    let failure = Mutex<(any Error)?>(nil)
    DispatchQueue.concurrentPerform(iterations: min(max(1, threads), samples.count)) { _ in
      while true {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        if index >= samples.count { break }
        do {
          try engine.checkedRun(sample: UInt64(samples[index]), configuration: configuration, seed: seed, into: results.sample(index))
        } catch {
          failure.withLock { if $0 == nil { $0 = error } }
          next.store(samples.count, ordering: .relaxed)  // the other workers stop too
          break
        }
      }
    }
    if let error = failure.withLock({ $0 }) { throw error }
    return results
  }
}

/// The metrics of a batch of samples in one buffer, each sample's a
/// `SampleMetrics` view; workers write disjoint samples.
private final class BatchMetrics: @unchecked Sendable {
  private let storage: UnsafeMutableBufferPointer<MetricValues>
  private let variants: Int, layers: Int

  init(samples: Int, configuration c: ModelConfiguration) {
    variants = c.variants.count
    layers = c.layers
    storage = .allocate(capacity: samples * SampleMetrics.count(for: c))
    storage.initialize(repeating: MetricValues(repeating: .nan))
  }

  deinit { storage.deallocate() }

  /// The view of sample `offset` of the batch, valid while the batch lives.
  func sample(_ offset: Int) -> SampleMetrics {
    let count = variants * (layers + 1)
    return SampleMetrics(UnsafeMutableBufferPointer(rebasing: storage[(offset * count)..<((offset + 1) * count)]), variants: variants, layers: layers)
  }
}

/// The blocks of `owned` outside the `covered` ranges, in increasing order,
/// held as ranges (as many as there are gaps, not as many as blocks).
struct PendingBlocks {
  private(set) var ranges: [Range<Int>]

  init(owned: Range<Int>, covered: [Range<Int>]) {
    var ranges: [Range<Int>] = []
    var start = owned.lowerBound
    for done in covered.sorted(by: { $0.lowerBound < $1.lowerBound }) where done.upperBound > start && done.lowerBound < owned.upperBound {
      if done.lowerBound > start { ranges.append(start..<done.lowerBound) }
      start = max(start, done.upperBound)
    }
    if start < owned.upperBound { ranges.append(start..<owned.upperBound) }
    self.ranges = ranges
  }

  var isEmpty: Bool { ranges.isEmpty }

  /// Removes and returns up to `count` of the next blocks.
  mutating func take(_ count: Int) -> [Int] {
    var blocks: [Int] = []
    while blocks.count < count, let first = ranges.first {
      let end = min(first.upperBound, first.lowerBound + (count - blocks.count))
      blocks += Array(first.lowerBound..<end)
      if end == first.upperBound { ranges.removeFirst() } else { ranges[0] = end..<first.upperBound }
    }
    return blocks
  }
}


