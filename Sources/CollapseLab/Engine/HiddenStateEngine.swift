/// Measures saved hidden states (`mc-generic measure`): "sample" s is
/// sequence s of the dataset, its L + 1 states read one at a time from the
/// file (n × d as Float32) and measured by `measure` on the rows kept — the
/// same metrics, on the same code, as a run's states.
///
/// Memory is one n × d state per thread; parallelism is over sequences
/// (`MonteCarloRun`). A read failure (a file changed or removed during the
/// run) ends the run with that message (`checkedRun`), its last checkpoint
/// intact.
public struct HiddenStateEngine: ForwardEngine {
  public let dataset: HiddenStateDataset
  public var kind: EngineKind { .measure }

  public init(dataset: HiddenStateDataset) { self.dataset = dataset }

  /// Traps on a read failure; `MonteCarloRun` calls `checkedRun`.
  public func run(sample: UInt64, configuration: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    do { return try checkedRun(sample: sample, configuration: configuration, seed: seed) } catch {
      fatalError("\(error)")
    }
  }

  public func checkedRun(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) throws -> [[MetricValues]] {
    let (file, local) = dataset.locate(Int(sample))
    var state = [Float](repeating: 0, count: dataset.tokens * dataset.width)
    var scratch: [UInt8] = []
    var values: [MetricValues] = []
    for l in 0..<dataset.stateCount {
      let rows = try state.withUnsafeMutableBufferPointer { buffer throws(CheckpointError) in
        try file.readState(l, sequence: local, into: buffer.baseAddress!, scratch: &scratch)
      }
      values.append(
        state.withUnsafeBufferPointer {
          measure(
            $0.baseAddress!, rows: rows, columns: dataset.width, attentionEntropy: .nan,
            rankToleranceFactor: c.rankToleranceFactor, rankMethod: c.rankMethod)
        })
    }
    return [values]
  }
}
