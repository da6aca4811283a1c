import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
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
        let entries = only.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if let empty = entries.firstIndex(of: "") {
          throw ValidationError("--only '\(only)': entry \(empty + 1) is empty (a doubled, leading or trailing comma)")
        }
        let numbers = entries.map { Int($0) }
        if numbers.contains(where: { $0 == nil || !known.contains($0!) }) {
          let list = implementedClaims.map { "\($0.number)" }.joined(separator: ", ")
          throw ValidationError("--only takes implemented claim numbers (\(list)), got '\(only)'")
        }
        if Set(numbers).count != numbers.count { throw ValidationError("--only '\(only)' names a claim twice") }
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
}
