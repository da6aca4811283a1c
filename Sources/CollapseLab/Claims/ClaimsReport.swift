import Foundation

/// What an experiment concluded about a published claim.
public enum ClaimVerdict: String, Sendable {
  case holds = "holds"
  case fails = "fails"
  case holdsGenerically = "holds only generically"
  /// Holds in some region of the parameters (scale, depth, architecture) and
  /// fails, on sets of positive probability, outside it.
  case holdsConditionally = "holds only in part of the parameter space"
  /// True in one precise reading of the statement and false in another; the
  /// section names both.
  case dependsOnReading = "holds in one reading, fails in another"
}

/// One claim of the report: the statement, the experiment, the numbers (with
/// confidence bounds where they are estimates) and the verdict, with the
/// command that reproduces them.
public struct ClaimSection: Sendable {
  public var number: Int
  public var title: String
  public var statement: String
  public var experiment: String
  /// Markdown lines: tables and remarks with the numbers.
  public var findings: [String]
  public var verdict: ClaimVerdict
  public var verdictReason: String
  public var command: String
  /// Files written next to report.md (plots the findings link to).
  public var attachments: [(name: String, contents: String)] = []

  public var markdown: String {
    """
    ## \(number). \(title)

    **Claim.** \(statement)

    **Experiment.** \(experiment)

    \(findings.joined(separator: "\n"))

    **Verdict: \(verdict.rawValue).** \(verdictReason)

    Reproduce: `\(command)`

    """
  }
}

/// The parameters every claims experiment shares: how many samples, the
/// seed, and the model (BERT-base widths with the experiment's depth and
/// variants unless a caller changes them, as the tests do to shrink it).
protocol ClaimExperiment: Sendable {
  var samples: Int { get }
  var seed: UInt64 { get }
  var configuration: ModelConfiguration { get set }
  func run() -> ClaimSection
}

extension ClaimExperiment {
  /// `values[v][l]`: one metric of variant v at layer l over samples
  /// 0..<samples, from the sketch engine (in sample order, so the result is
  /// a function of the seed).
  func sketchMetric(_ metric: Metric, configuration c: ModelConfiguration) -> [[[Double]]] {
    let index = metric.index
    var values = c.variants.map { _ in (0...c.layers).map { _ in [Double]() } }
    let seed = seed
    for result in mapSamples(samples, { s in SketchEngine().run(sample: UInt64(s), configuration: c, seed: seed) }) {
      for v in result.indices { for l in result[v].indices { values[v][l].append(result[v][l][index: index]) } }
    }
    return values
  }
}

/// `[body(0), …, body(count − 1)]`, evaluated on every core. The result is in
/// index order whatever the scheduling, so experiments stay functions of
/// their seed.
func mapSamples<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
  let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
  results.initialize(repeating: nil)
  defer {
    results.deinitialize()  // release the values before freeing the slots
    results.deallocate()
  }
  nonisolated(unsafe) let slots = results  // each index is written by exactly one iteration
  DispatchQueue.concurrentPerform(iterations: count) { slots[$0] = body($0) }
  return results.map { $0! }
}

extension ModelConfiguration {
  /// BERT-base with `layers` layers and the given variants.
  static func forClaims(layers: Int, variants: [Variant]) -> ModelConfiguration {
    var c = ModelConfiguration()
    c.layers = layers
    c.variants = variants
    return c
  }
}

/// How many samples the experiments draw, and from which seed.
public struct ClaimRunOptions: Sendable {
  /// Samples of the fast (sketch) engine and of cheap exact computations.
  public var samples: Int
  /// Samples of the experiments that need the weight matrices themselves
  /// (dense engine at BERT-base: about a second each).
  public var denseSamples: Int
  public var seed: UInt64

  public init(samples: Int, denseSamples: Int, seed: UInt64) {
    self.samples = samples
    self.denseSamples = denseSamples
    self.seed = seed
  }
}

/// A claim the report can test, and how to run its experiment.
public struct ImplementedClaim: Sendable {
  public let number: Int
  public let title: String
  public let run: @Sendable (ClaimRunOptions) -> ClaimSection
}

/// The claims of the report, in order.
public let implementedClaims: [ImplementedClaim] = [
  ImplementedClaim(number: 1, title: "collapse rate of pure attention, Dong's bound") {
    CollapseRateExperiment(samples: $0.samples, denseSamples: $0.denseSamples, seed: $0.seed).run()
  },
  ImplementedClaim(number: 2, title: "exact and numerical rank") { GenericRankExperiment(samples: $0.samples, seed: $0.seed).run() },
  ImplementedClaim(number: 3, title: "residual connections, σ × depth phase diagram") {
    ResidualCollapseExperiment(samples: $0.samples, seed: $0.seed).run()
  },
  ImplementedClaim(number: 4, title: "LayerNorm and affine rank") { LayerNormRankExperiment(samples: $0.samples, seed: $0.seed).run() },
  ImplementedClaim(number: 5, title: "directions outside attention's reach") { MLPDirectionsExperiment(samples: $0.denseSamples, seed: $0.seed).run() },
  ImplementedClaim(number: 6, title: "head-channel non-identifiability") {
    HeadIdentifiabilityExperiment(samples: $0.denseSamples, seed: $0.seed).run()
  },
  ImplementedClaim(number: 7, title: "position-gated output projection") {
    GatedProjectionExperiment(samples: $0.samples, denseSamples: $0.denseSamples, seed: $0.seed).run()
  },
  ImplementedClaim(number: 8, title: "collapse in width, entropy collapse") { WidthEntropyExperiment(samples: $0.denseSamples, seed: $0.seed).run() },
]

/// Refuses a directory that already holds a report (nothing is overwritten);
/// callers check before running the experiments, and the writer again.
public func requireNoClaimsReport(in directory: URL) throws(ConfigurationError) {
  let target = directory.appendingPathComponent("report.md")
  if FileManager.default.fileExists(atPath: target.path) {
    throw ConfigurationError("\(directory.path) already holds report.md; choose another \(.output) directory")
  }
}

/// Writes `DIR/report.md` (creating DIR, refusing to overwrite a report).
public func writeClaimsReport(_ sections: [ClaimSection], seed: UInt64, to directory: URL) throws {
  try requireNoClaimsReport(in: directory)
  let target = directory.appendingPathComponent("report.md")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  let header = """
    # Rank-collapse claims, tested by Monte Carlo

    Generated by `mc-generic claims` (seed \(seed)). Each section states a claim
    from the literature, the experiment that tests it, the numbers (95 %
    Clopper–Pearson bounds for proportions) and a verdict; the command under
    each section reproduces it alone.

    """
  for section in sections {
    for attachment in section.attachments {
      try attachment.contents.write(to: directory.appendingPathComponent(attachment.name), atomically: true, encoding: .utf8)
    }
  }
  try (header + "\n" + sections.map(\.markdown).joined(separator: "\n")).write(to: target, atomically: true, encoding: .utf8)
}
