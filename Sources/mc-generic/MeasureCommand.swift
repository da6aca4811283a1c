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
    @Option(name: .customLong("rank-tolerance"), help: "Rank counts σ > factor·σ₁·max(n,d)·ε_f32; this is the factor.")
    var rankTolerance: Double = 1
    @OptionGroup var execution: ExecutionArguments

    func validate() throws {
      if files.isEmpty { throw ValidationError("measure needs at least one hidden-state file") }
      if execution.output == nil && execution.resume == nil { throw ValidationError("measure needs --output DIR (or --resume DIR)") }
      if !(rankTolerance > 0) { throw ValidationError("--rank-tolerance must be positive, got \(rankTolerance)") }
    }

    func run() throws {
      let dataset = try wrapped { try HiddenStateDataset(paths: files) }
      if !execution.quiet {
        let bytes = dataset.files.reduce(0) { $0 + $1.byteCount }
        printError("mc-generic measure: \(dataset.sequenceCount) sequences × \(dataset.stateCount) states of n=\(dataset.tokens), d=\(dataset.width) in \(files.count) file\(files.count == 1 ? "" : "s") (\(formatBytes(bytes))); hashing them")
      }
      let source = try wrapped { try dataset.source() }
      var configuration = dataset.configuration(source: source)
      configuration.rankMethod = execution.rankMethod
      configuration.rankToleranceFactor = rankTolerance
      try wrapped { try configuration.validate() }
      let identity = RunIdentity(configuration: configuration, seed: 0, samples: dataset.sequenceCount, engine: .measure)
      let shard = try resolveShard(execution.shard)
      let (directory, previous, lock) = try execution.openResultDirectory { preconditionFailure("validate() requires --output or --resume") }
      defer { withExtendedLifetime(lock) {} }  // held on every path until the last file is written
      printError("mc-generic measure: results in \(directory.path)")
      let (outcome, summary) = try execution.execute(
        MonteCarloRun(identity: identity, shard: shard, engine: HiddenStateEngine(dataset: dataset)), resuming: previous, in: directory,
        unit: "sequences", label: "mc-generic measure")
      switch outcome {
      case .completed:
        print(summary.table())
        print("results: \(directory.path) (summary.json, plot.svg\(execution.perSample ? ", samples.csv" : ""))")
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
