import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Monte Carlo experiment (the default subcommand).")

    @OptionGroup var model: ModelOptions
    @Option(help: "Number of samples, the whole run across all shards (default 1000; with --text the number of windows).")
    var samples: Int?
    @Option(help: "Seed of the counter-based RNG.") var seed: UInt64 = 0
    @Option(help: "Engine: gram (every state in the n-dimensional Gram space of its tokens; exact for Gaussian weights without biases or random norm parameters, Gaussian input, d ≥ 2n + 1), sketch (exact in distribution for Gaussian weights, never forms them) or dense (materialises every weight matrix; needed for uniform weights). Default: of those exact for the configuration, whichever the cost model estimates fastest; the run prints which and why.")
    var engine: RandomModelEngine?
    @Option(help: "Linear-algebra backend.") var backend: BackendKind = .swift
    @OptionGroup var execution: ExecutionArguments
    @Flag(name: .customLong("allow-rank-cap"), help: "Allow --seq-len >= --d-model with post-LN variants, whose rank is then capped at d-1.")
    var allowRankCap = false

    func validate() throws {
      if let samples, samples < 1 { throw ValidationError("--samples must be positive, got \(samples)") }
      if let engine, engine != .dense, model.model != nil {
        throw ValidationError("--engine \(engine.rawValue) cannot run a trained checkpoint (its shortcut needs fresh Gaussian weights); --model runs on the dense engine")
      }
    }

    func run() throws {
      if let samples, samples > maximumSampleCount {
        throw RunError("--samples \(samples) exceeds the limit of 2^53 = \(maximumSampleCount) (sample indices and counts must be exact in Float64)")
      }
      var configuration: ModelConfiguration
      var checkpointEngine: (any ForwardEngine)? = nil
      let sampleCount: Int
      var notes: [String] = []
      if model.model != nil {
        let (c, loaded, windowCount, loadNotes) = try model.makeCheckpointRun(seed: seed)
        notes = loadNotes
        configuration = c
        checkpointEngine = loaded
        if let windowCount {
          sampleCount = samples ?? windowCount
          if sampleCount > windowCount && (c.checkpoint?.perturbation ?? 0) == 0 {
            throw RunError("--samples \(sampleCount) exceeds the \(windowCount) windows of --text \(model.text!) at --seq-len \(c.sequenceLength); more samples than windows need --perturb EPS > 0 (sample i then uses window i mod \(windowCount))")
          }
        } else {
          sampleCount = samples ?? 1000
        }
      } else {
        configuration = try model.makeConfiguration()
        sampleCount = samples ?? 1000
      }
      configuration.rankMethod = execution.rankMethod
      // Trained checkpoints run dense; otherwise --engine, or the cost
      // model's choice (which depends on the rank method) with its reason.
      let engineKind: EngineKind
      if checkpointEngine != nil {
        engineKind = .dense
      } else if let engine {
        if let why = inexactReason(of: engine.kind, for: configuration) {
          let exact = sketchInexactReason(configuration) == nil ? "sketch" : "dense"
          throw RunError("--engine \(engine.rawValue) is not exact here: \(why); use --engine \(exact)")
        }
        engineKind = engine.kind
      } else {
        let choice = defaultEngine(for: configuration)
        engineKind = choice.kind
        notes.append("mc-generic: " + choice.reason)
      }
      let forwardEngine = checkpointEngine ?? engineKind.makeRandomModelEngine()!
      if configuration.sequenceLength >= configuration.modelDimension,
        configuration.variants.contains(where: \.postLayerNorm), !allowRankCap
      {
        throw RunError(
          "--seq-len (\(configuration.sequenceLength)) >= d-model (\(configuration.modelDimension)): post-LN outputs lie in a (d-1)-dimensional subspace, so 'full rank' is impossible by construction; pass --allow-rank-cap to run anyway")
      }
      do {
        Backends.current = try Backends.backend(backend)
      } catch {
        throw RunError("--backend: \(error)")
      }
      let shard = try resolveShard(execution.shard)
      let identity = RunIdentity(
        configuration: configuration, seed: seed, samples: sampleCount, engine: engineKind, blockSize: 16,
        codeVersion: collapseLabVersion)
      if execution.perSample && execution.output == nil && execution.resume == nil { throw RunError("--per-sample needs --output DIR") }
      let (directory, previous, lock) = try execution.openResultDirectory { try createRunDirectory(seed: seed, shard: shard) }
      defer { withExtendedLifetime(lock) {} }  // held on every path until the last file is written
      // The first line on stderr, even with --quiet: where the results are.
      printError("mc-generic: results in \(directory.path)")
      notes.forEach(printError)
      let (outcome, summary) = try execution.execute(
        MonteCarloRun(identity: identity, shard: shard, engine: forwardEngine), resuming: previous, in: directory,
        unit: "samples", label: "mc-generic")
      switch outcome {
      case .completed:
        print(summary.table())
        print("results: \(directory.path) (summary.json, plot.svg\(execution.perSample ? ", samples.csv" : ""))")
        printError("mc-generic: wrote \(directory.path)/summary.json and plot.svg")
      case .interrupted(let state):
        printError("mc-generic: interrupted after \(state.completedSamples) samples, saved in \(directory.path); continue with:")
        printError("  " + resumeCommand(directory: directory.path))
        throw ExitCode(130)
      }
    }

    /// This command line with --output DIR (or --resume) replaced by --resume DIR.
    private func resumeCommand(directory: String) -> String {
      var arguments: [String] = []
      var skipNext = false
      for argument in CommandLine.arguments.dropFirst() {
        if skipNext { skipNext = false; continue }
        if argument == "--output" || argument == "--resume" { skipNext = true; continue }
        if argument.hasPrefix("--output=") || argument.hasPrefix("--resume=") { continue }
        arguments.append(argument)
      }
      return ([CommandLine.arguments.first ?? "mc-generic"] + arguments + ["--resume", directory]).map(shellQuoted).joined(separator: " ")
    }
  }
}
