import ArgumentParser
import CollapseLab
import Foundation
import RankKernels
import Synchronization

@main
struct MCGeneric: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mc-generic",
    abstract: "Monte Carlo rank tracking over randomly sampled Transformer encoders (BERT-base by default).",
    discussion: """
      Samples weights and inputs from a density, runs every architecture variant, and reports \
      how often rank, affine rank and residual ratios behave as the rank-collapse literature claims, \
      with exact confidence bounds. Results are determined by --seed, whatever the thread count, \
      interruption or sharding.
      """,
    version: collapseLabVersion,
    subcommands: [Run.self, Merge.self, Plot.self, Claims.self],
    defaultSubcommand: Run.self)
}

/// An error found while running (after parsing): printed as one line,
/// without the usage text that ArgumentParser adds to validation errors.
struct RunError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Set from SIGINT/SIGTERM; the run finishes its batch of blocks in flight and saves.
let stopRequested = Atomic<Bool>(false)

struct ModelOptions: ParsableArguments {
  @Option(help: "Encoder layers L.") var layers = 12
  @Option(name: .customLong("d-model"), help: "Model width d.") var dModel = 768
  @Option(help: "Attention heads H (d must be divisible by H).") var heads = 12
  @Option(name: .customLong("d-ff"), help: "Feed-forward width.") var dFF = 3072
  @Option(name: .customLong("seq-len"), help: "Tokens per sequence n.") var seqLen = 16
  @Option(help: "Comma-separated variants: attn plus any of res, ln, preln, mlp, pgop joined by '+'.")
  var variants = "attn,attn+res,attn+res+ln,attn+res+ln+mlp"
  @Option(help: "Standard deviation of weight entries.") var sigma: Float = 0.02
  @Option(name: .customLong("weight-distribution"), help: "gaussian or uniform (same variance).")
  var weightDistribution = "gaussian"
  @Flag(name: .customLong("random-biases"), help: "Draw biases from N(0, sigma²) instead of 0.") var randomBiases = false
  @Flag(name: .customLong("random-layernorm"), help: "Draw LayerNorm gamma = 1 + N(0, sigma²), beta = N(0, sigma²).")
  var randomLayerNorm = false
  @Option(help: "Input tokens: gaussian or bert-embeddings.") var input = "gaussian"
  @Option(name: .customLong("input-rank"), help: "Use an exactly rank-r Gaussian input instead.") var inputRank: Int?
  @Option(name: .customLong("ln-eps"), help: "LayerNorm epsilon.") var lnEps: Float = 1e-12
  @Option(name: .customLong("rank-tolerance"), help: "Rank counts σ > factor·σ₁·max(n,d)·ε_f32; this is the factor.")
  var rankTolerance: Double = 1

  func makeConfiguration() throws -> ModelConfiguration {
    var c = ModelConfiguration()
    c.layers = layers; c.modelDimension = dModel; c.heads = heads; c.feedForwardDimension = dFF
    c.sequenceLength = seqLen; c.weightScale = sigma; c.layerNormEpsilon = lnEps
    c.randomBiases = randomBiases; c.randomLayerNormAffine = randomLayerNorm
    c.inputRank = inputRank; c.rankToleranceFactor = rankTolerance
    guard let distribution = WeightDistribution(rawValue: weightDistribution) else {
      throw RunError("--weight-distribution must be gaussian or uniform, got '\(weightDistribution)'")
    }
    c.weightDistribution = distribution
    guard let inputKind = InputKind(rawValue: input) else {
      throw RunError("--input must be gaussian or bert-embeddings, got '\(input)'")
    }
    c.input = inputKind
    do {
      c.variants = try variants.split(separator: ",").map { try Variant(parsing: String($0)) }
      try c.validate()
    } catch let error as ConfigurationError {
      throw RunError(error.description)
    }
    return c
  }
}

extension MCGeneric {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Monte Carlo experiment (the default subcommand).")

    @OptionGroup var model: ModelOptions
    @Option(help: "Number of samples (the whole run, across all shards).") var samples = 1000
    @Option(help: "Seed of the counter-based RNG.") var seed: UInt64 = 0
    @Option(help: "Engine: sketch (exact in distribution for Gaussian weights, never forms them; the default) or dense (materialises every weight matrix; needed for uniform weights).")
    var engine: String?
    @Option(name: .customLong("rank-method"), help: "gram (eigenvalues of the Float64 Gram matrix; the default, fastest), exact (Float64 QR + Jacobi singular values, relative accuracy for tiny values) or randomized (fixed-precision randomized rank estimate, for long sequences).")
    var rankMethod = "gram"
    @Option(help: "Threads, parallel over samples (kernels run single-threaded inside a sample).")
    var threads = Threading.defaultThreadCount
    @Option(help: "Linear-algebra backend: swift or openblas.") var backend = "swift"
    @Option(help: "Directory for state.json, summary.json, plot.svg (and samples.csv); must not hold results yet.")
    var output: String?
    @Option(help: "Continue the interrupted run saved in this directory (same options as the original run).")
    var resume: String?
    @Option(help: "Run shard K of N (0-based): a contiguous, disjoint part of the samples. Defaults from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/MC_SHARD_COUNT.")
    var shard: String?
    @Flag(name: .customLong("per-sample"), help: "Also write samples.csv: one row per (sample, variant, layer).")
    var perSample = false
    @Option(name: .customLong("checkpoint-seconds"), help: "Seconds between checkpoints.") var checkpointSeconds = 5.0
    @Flag(help: "No progress on stderr.") var quiet = false
    @Flag(name: .customLong("allow-rank-cap"), help: "Allow --seq-len >= --d-model with post-LN variants, whose rank is then capped at d-1.")
    var allowRankCap = false

    func validate() throws {
      if samples < 1 { throw ValidationError("--samples must be positive, got \(samples)") }
      if threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
      if let engine, engine != "dense" && engine != "sketch" {
        throw ValidationError("--engine must be sketch or dense, got '\(engine)'")
      }
      if engine == "sketch" && model.weightDistribution != "gaussian" {
        throw ValidationError("--engine sketch needs Gaussian weights (its shortcut relies on rotation invariance); use --engine dense with --weight-distribution \(model.weightDistribution)")
      }
      if RankMethod(rawValue: rankMethod) == nil {
        throw ValidationError("--rank-method must be gram, exact or randomized, got '\(rankMethod)'")
      }
      if output != nil && resume != nil && output != resume {
        throw ValidationError("--output and --resume name different directories; --resume DIR writes to DIR")
      }
      if checkpointSeconds <= 0 { throw ValidationError("--checkpoint-seconds must be positive, got \(checkpointSeconds)") }
    }

    func run() throws {
      var configuration = try model.makeConfiguration()
      configuration.rankMethod = RankMethod(rawValue: rankMethod)!
      if configuration.sequenceLength >= configuration.modelDimension,
        configuration.variants.contains(where: \.postLayerNorm), !allowRankCap
      {
        throw RunError(
          "--seq-len (\(configuration.sequenceLength)) >= --d-model (\(configuration.modelDimension)): post-LN outputs lie in a (d-1)-dimensional subspace, so 'full rank' is impossible by construction; pass --allow-rank-cap to run anyway")
      }
      do {
        Backends.current = try Backends.named(backend)
      } catch {
        throw RunError("--backend: \(error)")
      }
      let shard = try resolveShard()
      let engineName = engine ?? (configuration.weightDistribution == .gaussian ? "sketch" : "dense")
      let identity = RunIdentity(
        configuration: configuration, seed: seed, samples: samples, engine: engineName, blockSize: 16,
        codeVersion: collapseLabVersion)
      var previous: RunState? = nil
      var directory: URL? = nil
      if let resume {
        directory = URL(fileURLWithPath: resume)
        previous = try wrapped { try RunState.read(from: directory!) }
      } else if let output {
        directory = try prepareOutputDirectory(output)
      }
      var options = ExecutionOptions()
      options.threads = threads
      options.outputDirectory = directory
      options.perSample = perSample
      if perSample && directory == nil { throw RunError("--per-sample needs --output DIR") }
      options.checkpointInterval = checkpointSeconds
      let reporter = ProgressReporter(enabled: !quiet)
      options.progress = { done, total, seconds in reporter.update(done: done, total: total, seconds: seconds) }
      installStopHandlers()
      let run = MonteCarloRun(identity: identity, shard: shard, engine: engineName == "sketch" ? SketchEngine() : DenseEngine())
      let outcome = try wrapped { try run.run(resuming: previous, options: options, shouldStop: { stopRequested.load(ordering: .relaxed) }) }
      reporter.finish()
      let summary = Summary(state: outcome.state)
      if let directory { try writeLayerPlot(summary, to: directory) }
      switch outcome {
      case .completed:
        print(summary.table())
        if let directory { printError("mc-generic: wrote \(directory.path)/summary.json and plot.svg") }
      case .interrupted(let state):
        let where_ = directory.map { "; continue with --resume \($0.path) and the same options" } ?? " (no --output: nothing saved)"
        printError("mc-generic: interrupted after \(state.completedSamples) samples\(where_)")
        throw ExitCode(130)
      }
    }

    private func resolveShard() throws -> Shard {
      let environment = ProcessInfo.processInfo.environment
      var text = shard
      if text == nil, let k = environment["SLURM_ARRAY_TASK_ID"], let n = environment["SLURM_ARRAY_TASK_COUNT"] {
        text = "\(k)/\(n)"
      }
      if text == nil, let k = environment["JOB_COMPLETION_INDEX"], let n = environment["MC_SHARD_COUNT"] { text = "\(k)/\(n)" }
      guard let text else { return .whole }
      do { return try Shard(parsing: text) } catch { throw RunError(error.description) }
    }
  }

  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Combine shard (or partial) result directories into the summary one run would give.")
    @Argument(help: "Result directories written by --output.") var directories: [String]
    @Option(help: "Directory for the merged results; must not hold results yet.") var output: String

    func run() throws {
      if directories.isEmpty { throw RunError("merge needs at least one result directory") }
      let merged = try wrapped { try mergeResults(from: directories.map { URL(fileURLWithPath: $0) }) }
      let directory = try prepareOutputDirectory(output)
      try merged.write(to: directory)
      let summary = Summary(state: merged)
      try summary.write(to: directory)
      try writeLayerPlot(summary, to: directory)
      print(summary.table())
      if !summary.isComplete { printError("mc-generic merge: warning: the inputs do not cover every sample; the summary is partial") }
    }
  }

  struct Claims: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Test published rank-collapse claims by Monte Carlo and write DIR/report.md.",
      discussion: """
        Each claim gets its statement, experiment, numbers with 95 % bounds, verdict and a command that \
        reproduces it alone: 1 collapse rate of pure attention and Dong's bound, 2 exact vs numerical \
        rank, 3 residual connections (σ × depth phase diagram), 4 LayerNorm and affine rank, 5 directions \
        the MLP creates, 6 head non-identifiability, 7 position-gated output projection (PG-OP), 8 \
        collapse in width and entropy collapse. --samples sets the sketch-engine experiments, \
        --dense-samples those that need the weight matrices. The defaults take about 7 minutes on 2 cores.
        """)
    @Option(help: "Directory for report.md; must not hold a report yet.") var output: String
    @Option(help: "Samples per experiment (sketch engine and other cheap computations).") var samples = 1000
    @Option(name: .customLong("dense-samples"), help: "Samples of the experiments that need the weight matrices (dense engine).")
    var denseSamples = 64
    @Option(help: "Seed of the counter-based RNG.") var seed: UInt64 = 0
    @Option(help: "Comma-separated claim numbers to run (default: every implemented claim).") var only: String?

    /// The claims `--only` names, or all of them.
    var selectedClaims: [ImplementedClaim] {
      guard let only else { return implementedClaims }
      let numbers = Set(only.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
      return implementedClaims.filter { numbers.contains($0.number) }
    }

    func validate() throws {
      if samples < 1 { throw ValidationError("--samples must be positive, got \(samples)") }
      if denseSamples < 1 { throw ValidationError("--dense-samples must be positive, got \(denseSamples)") }
      if let only {
        let known = Set(implementedClaims.map(\.number))
        let numbers = only.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if numbers.contains(where: { $0 == nil || !known.contains($0!) }) {
          let list = implementedClaims.map { "\($0.number)" }.joined(separator: ", ")
          throw ValidationError("--only takes implemented claim numbers (\(list)), got '\(only)'")
        }
      }
    }

    func run() throws {
      let url = URL(fileURLWithPath: output)
      try wrapped { try requireNoClaimsReport(in: url) }  // before the experiments run, not after
      let sections = selectedClaims.map { claim in
        printError("mc-generic claims: \(claim.number) (\(claim.title))")
        let started = ContinuousClock.now
        let section = claim.run(ClaimRunOptions(samples: samples, denseSamples: denseSamples, seed: seed))
        printError("mc-generic claims: \(claim.number) done in \(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
        return section
      }
      try wrapped { try writeClaimsReport(sections, seed: seed, to: url) }
      printError("mc-generic: wrote \(url.path)/report.md")
    }
  }

  struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write DIR/plot.svg from the results in DIR.")
    @Argument(help: "A result directory.") var directory: String
    func run() throws {
      let url = URL(fileURLWithPath: directory)
      let state = try wrapped { try RunState.read(from: url) }
      try writeLayerPlot(Summary(state: state), to: url)
      printError("mc-generic: wrote \(url.path)/plot.svg")
    }
  }
}

/// Creates `path` if needed; refuses a directory that already holds results
/// (nothing is ever overwritten) or cannot be written.
func prepareOutputDirectory(_ path: String) throws -> URL {
  let url = URL(fileURLWithPath: path)
  let fileManager = FileManager.default
  if fileManager.fileExists(atPath: url.appendingPathComponent(RunState.fileName).path) {
    throw RunError("--output \(path) already holds results (state.json); use --resume \(path) to continue, or another directory")
  }
  do {
    try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
    let probe = url.appendingPathComponent(".write-test-\(getpid())")
    try Data().write(to: probe)
    try fileManager.removeItem(at: probe)
  } catch {
    throw RunError("--output \(path) is not a writable directory: \(error.localizedDescription)")
  }
  return url
}

/// Turns library configuration errors into one-line CLI errors.
func wrapped<T>(_ body: () throws -> T) throws -> T {
  do { return try body() } catch let error as ConfigurationError { throw RunError(error.description) }
}

func installStopHandlers() {
  for signalNumber in [SIGINT, SIGTERM] {
    signal(signalNumber) { _ in
      if stopRequested.load(ordering: .relaxed) { _exit(130) }  // second Ctrl-C: stop now
      stopRequested.store(true, ordering: .relaxed)
    }
  }
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Progress on stderr: a redrawn line on a terminal, a line every 10 s otherwise.
final class ProgressReporter: @unchecked Sendable {
  let enabled: Bool
  let terminal = isatty(2) != 0
  private let lock = NSLock()
  private var lastPrint = -1.0
  private var printed = false

  init(enabled: Bool) { self.enabled = enabled }

  func update(done: Int, total: Int, seconds: Double) {
    guard enabled else { return }
    lock.lock(); defer { lock.unlock() }
    let interval = terminal ? 0.2 : 10
    if seconds - lastPrint < interval && done < total { return }
    lastPrint = seconds
    let rate = seconds > 0 ? Double(done) / seconds : 0
    let eta = rate > 0 ? Double(total - done) / rate : .nan
    let line = "\(done)/\(total) samples  \(String(format: "%.2f", rate)) samples/s  ETA \(formatDuration(eta))"
    if terminal {
      FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
      printed = true
    } else {
      printError("mc-generic: \(line)")
    }
  }

  func finish() {
    if enabled && terminal && printed { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}

func formatDuration(_ seconds: Double) -> String {
  guard seconds.isFinite else { return "--" }
  let s = Int(seconds.rounded())
  return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
}
