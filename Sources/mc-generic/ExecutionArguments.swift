import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

/// The options `run` and `measure` share: where the results go, how the work
/// is split and checkpointed, and how ranks are computed.
struct ExecutionArguments: ParsableArguments {
  @Option(name: .customLong("rank-method"), help: "gram (eigenvalues of the Float64 Gram matrix; the default, fastest), exact (Float64 QR + Jacobi singular values, relative accuracy for tiny values) or randomized (fixed-precision randomized rank estimate, for long sequences).")
  var rankMethod: RankMethod = .gram
  @Option(help: "Threads, parallel over samples (kernels run single-threaded inside a sample).")
  var threads = Threading.defaultThreadCount
  @Option(help: "Directory for state.json, summary.json, plot.svg (and samples.csv); must not hold results yet.")
  var output: String?
  @Option(help: "Continue the interrupted run saved in this directory (same options as the original run).")
  var resume: String?
  @Option(help: "Run shard K of N (0-based): a contiguous, disjoint part of the samples; merge the shards with `mc-generic merge`. Defaults from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/MC_SHARD_COUNT.")
  var shard: String?
  @Flag(name: .customLong("per-sample"), help: "Also write samples.csv: one row per (sample, variant, layer).")
  var perSample = false
  @Option(name: .customLong("checkpoint-seconds"), help: "Seconds between checkpoints.") var checkpointSeconds = 5.0
  @Flag(help: "No progress on stderr.") var quiet = false

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
    if output != nil && resume != nil && output != resume {
      throw ValidationError("--output and --resume name different directories; --resume DIR writes to DIR")
    }
    if checkpointSeconds <= 0 { throw ValidationError("--checkpoint-seconds must be positive, got \(checkpointSeconds)") }
  }

  /// The result directory, the state to resume (nil for a fresh run) and the
  /// lock that keeps other processes out until the last file is written:
  /// `--resume DIR`, else `--output DIR` (which must not hold results), else
  /// `makeDirectory()`'s new directory.
  func openResultDirectory(
    makeDirectory: () throws -> URL
  ) throws -> (directory: URL, previous: RunState?, lock: RunDirectoryLock) {
    if let resume {
      let directory = URL(fileURLWithPath: resume)
      _ = try wrapped { try RunState.read(from: directory) }  // a missing or damaged state is reported as such
      let lock = try lockResultDirectory(directory, fresh: false)
      let previous = try wrapped { try RunState.read(from: directory) }  // as of the lock
      return (directory, previous, lock)
    }
    let directory = try output.map(prepareOutputDirectory) ?? makeDirectory()
    return (directory, nil, try lockResultDirectory(directory, fresh: true))
  }

  /// Runs `run` into `directory` (checkpoints, summary, samples.csv), with
  /// progress on stderr counted in `unit` and Ctrl-C/SIGTERM stopping after
  /// the blocks in flight; then writes plot.svg and prints the non-finite
  /// warning, if any, after `label`.
  func execute(
    _ run: MonteCarloRun, resuming previous: RunState?, in directory: URL, unit: String, label: String
  ) throws -> (RunOutcome, Summary) {
    var options = ExecutionOptions()
    options.threads = threads
    options.outputDirectory = directory
    options.perSample = perSample
    options.checkpointInterval = checkpointSeconds
    let reporter = ProgressReporter(enabled: !quiet, unit: unit)
    options.progress = { done, total, seconds in reporter.update(done: done, total: total, seconds: seconds) }
    installStopHandlers()
    let outcome = try wrapped { try run.run(resuming: previous, options: options, shouldStop: { stopRequested.load(ordering: .relaxed) }) }
    reporter.finish()
    let summary = Summary(state: outcome.state)
    try writeLayerPlot(summary, to: directory)
    if let warning = summary.nonFiniteWarning() { printError("\(label): " + warning) }
    return (outcome, summary)
  }
}
