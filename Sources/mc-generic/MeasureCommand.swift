import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
  struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Measure hidden states saved by any framework: the metrics, bounds, summary and plot of a run.",
      discussion: """
        FILE… are safetensors (hidden_states.0 … hidden_states.L of [sequences, n, d], or hidden_states \
        of [L+1, sequences, n, d]), .npy ([L+1, sequences, n, d]) or .npz (np.savez; per-layer or stacked) \
        files, F16/BF16/F32/F64, with optional lengths [sequences] or attention_mask [sequences, n] \
        (padded rows are left out). Several files are one run, their sequences in the order given. \
        Tools/export-hidden-states.py writes them from Hugging Face models; see the README's \
        "Measure your own model".
        """)

    @Argument(help: "Hidden-state files, measured in this order as one run.") var files: [String] = []
    @Option(help: "Directory for state.json, summary.json, plot.svg (and samples.csv); must not hold results yet.")
    var output: String?
    @Option(help: "Continue the interrupted measurement saved in this directory (same files and options).")
    var resume: String?
    @Option(name: .customLong("rank-method"), help: "gram (default), exact or randomized, as for a run.")
    var rankMethod: RankMethod = .gram
    @Option(name: .customLong("rank-tolerance"), help: "Rank counts σ > factor·σ₁·max(n,d)·ε_f32; this is the factor.")
    var rankTolerance: Double = 1
    @Option(help: "Threads, parallel over sequences.") var threads = Threading.defaultThreadCount
    @Option(help: "Measure shard K of N (0-based) of the sequences; merge the shards with `mc-generic merge`.")
    var shard: String?
    @Flag(name: .customLong("per-sample"), help: "Also write samples.csv: one row per (sequence, state).")
    var perSample = false
    @Option(name: .customLong("checkpoint-seconds"), help: "Seconds between checkpoints.") var checkpointSeconds = 5.0
    @Flag(help: "No progress on stderr.") var quiet = false

    func validate() throws {
      if files.isEmpty { throw ValidationError("measure needs at least one hidden-state file") }
      if output == nil && resume == nil { throw ValidationError("measure needs --output DIR (or --resume DIR)") }
      if output != nil && resume != nil && output != resume {
        throw ValidationError("--output and --resume name different directories; --resume DIR writes to DIR")
      }
      if threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
      if !(rankTolerance > 0) { throw ValidationError("--rank-tolerance must be positive, got \(rankTolerance)") }
      if checkpointSeconds <= 0 { throw ValidationError("--checkpoint-seconds must be positive, got \(checkpointSeconds)") }
    }

    func run() throws {
      let dataset = try wrapped { try HiddenStateDataset(paths: files) }
      if !quiet {
        let bytes = dataset.files.reduce(0) { $0 + $1.byteCount }
        printError("mc-generic measure: \(dataset.sequenceCount) sequences × \(dataset.stateCount) states of n=\(dataset.tokens), d=\(dataset.width) in \(files.count) file\(files.count == 1 ? "" : "s") (\(formatBytes(bytes))); hashing them")
      }
      let source = try wrapped { try dataset.source() }
      var configuration = dataset.configuration(source: source)
      configuration.rankMethod = rankMethod
      configuration.rankToleranceFactor = rankTolerance
      try wrapped { try configuration.validate() }
      let identity = RunIdentity(configuration: configuration, seed: 0, samples: dataset.sequenceCount, engine: .measure)
      let shard = try resolveShard(shard)
      var previous: RunState? = nil
      let directory: URL
      let lock: RunDirectoryLock
      if let resume {
        directory = URL(fileURLWithPath: resume)
        _ = try wrapped { try RunState.read(from: directory) }
        lock = try lockResultDirectory(directory, fresh: false)
        previous = try wrapped { try RunState.read(from: directory) }
      } else {
        directory = try prepareOutputDirectory(output!)
        lock = try lockResultDirectory(directory, fresh: true)
      }
      defer { withExtendedLifetime(lock) {} }  // held on every path until the last file is written
      printError("mc-generic measure: results in \(directory.path)")
      let (outcome, summary) = try execute(
        MonteCarloRun(identity: identity, shard: shard, engine: HiddenStateEngine(dataset: dataset)), resuming: previous, in: directory,
        threads: threads, perSample: perSample, checkpointSeconds: checkpointSeconds, quiet: quiet, unit: "sequences", label: "mc-generic measure")
      switch outcome {
      case .completed:
        print(summary.table())
        print("results: \(directory.path) (summary.json, plot.svg\(perSample ? ", samples.csv" : ""))")
      case .interrupted(let state):
        printError("mc-generic measure: interrupted after \(state.completedSamples) sequences, saved in \(directory.path); continue with the same command and --resume \(directory.path)")
        throw ExitCode(130)
      }
    }
  }
}

func formatBytes(_ bytes: Int) -> String {
  let units = ["bytes", "KB", "MB", "GB", "TB"]
  var value = Double(bytes), unit = 0
  while value >= 1000 && unit < units.count - 1 {
    value /= 1000
    unit += 1
  }
  return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
}
