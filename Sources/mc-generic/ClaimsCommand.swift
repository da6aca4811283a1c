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

        With --model DIR (a Hugging Face BERT directory) the report is about that trained checkpoint: claims 1, \
        2, 3, 5, 6 and 8 run on its weights beside HF's initialisation of the same architecture, on the same \
        inputs (--text FILE windows, or random tokens), with Dong et al.'s Figure 2 in DIR/dong-figure2.svg; \
        claims 4 and 7 keep their random-initialisation form. With a GPT-2, Llama (GGUF or directory), \
        GPT-NeoX or ALBERT model, claims 1, 2 and 3 run (Dong's surgeries at its norm position, beside its \
        preset's initialisation at its widths), with the same figure.
        """)
    @Option(help: "Directory for report.md; must not hold a report yet.") var output: String
    @Option(help: "Samples per experiment (sketch engine and other cheap computations).") var samples = 1000
    @Option(name: .customLong("dense-samples"), help: "Samples of the experiments that need the weight matrices (dense engine).")
    var denseSamples = 64
    @Option(help: "Seed of the counter-based RNG.") var seed: UInt64 = 0
    @Option(help: "Comma-separated claim numbers to run (default: every implemented claim).") var only: String?
    @Option(help: "Comma-separated presets (bert-base, albert-base, gpt2, llama, pythia): Dong's surgeries on each at initialisation, one figure panel per preset, instead of the BERT-base claims.")
    var architecture: String?
    @Option(help: "A trained checkpoint (a Hugging Face directory of bert, albert, gpt2, gpt_neox or llama, or a .gguf file): the report on it, beside its initialisation.")
    var model: String?
    @Option(help: "With --model: a UTF-8 text whose windows are the inputs (default: random tokens).") var text: String?
    @Option(name: .customLong("token-ids"), help: "With --model (not BERT): a JSON-lines file of token windows (--seq-len ids per line) as the inputs.")
    var tokenIDs: String?
    @Option(name: .customLong("seq-len"), help: "With --model: tokens per input.") var seqLen = 128
    @Option(help: "With --model: at most this many text windows (default all), or this many random-token inputs (default 64).")
    var windows: Int?
    @Option(help: "With --model: claim 3 also runs on T + EPS·rms(T)·G around the trained weights.") var perturb: Double?
    @Option(name: .customLong("perturb-samples"), help: "With --perturb: samples of the neighbourhood.") var perturbSamples = 64

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
      if architecture != nil { return try runOnArchitectures() }
      if let model {
        let isTrainedTransformer = model.hasSuffix(".gguf")
          || TrainedTransformer.huggingFaceModelTypes.contains(huggingFaceModelType(in: URL(fileURLWithPath: model)) ?? "")
        if isTrainedTransformer { return try runOnTrainedTransformer() }
        if tokenIDs != nil { throw RunError("--token-ids is for models without a tokenizer this package implements; \(model) is BERT: use --text") }
        return try runOnCheckpoint()
      }
      for (given, name) in [(text != nil, "--text"), (tokenIDs != nil, "--token-ids"), (windows != nil, "--windows"), (perturb != nil, "--perturb")] where given {
        throw RunError("\(name) needs --model DIR (it describes the inputs of a trained checkpoint)")
      }
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

    /// `claims --architecture A,B`: the surgeries on each preset.
    private func runOnArchitectures() throws {
      if model != nil { throw RunError("--architecture and --model exclude each other (a checkpoint's config.json decides its architecture)") }
      if only != nil { throw RunError("--only selects BERT-base claims; --architecture runs the surgeries section only") }
      let names = architecture!.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      var architectures: [Architecture] = []
      for name in names {
        guard let preset = Architecture(rawValue: name) else {
          throw RunError("--architecture '\(name)' is not a known preset (known: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if architectures.contains(preset) { throw RunError("--architecture '\(architecture!)' names \(name) twice") }
        architectures.append(preset)
      }
      let url = URL(fileURLWithPath: output)
      try wrapped { try requireNoClaimsReport(in: url) }
      let started = ContinuousClock.now
      let experiment = ArchitectureSurgeryExperiment(architectures: architectures, samples: samples, seed: seed)
      let (header, sections) = architectureClaimsReport(experiment, progress: { printError("mc-generic claims: \($0)") })
      try wrapped { try writeClaimsReport(sections, header: header, to: url) }
      printError("mc-generic: wrote \(url.path)/report.md in \(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
    }

    /// `claims --model DIR`: the report on a trained checkpoint.
    private func runOnCheckpoint() throws {
      let url = URL(fileURLWithPath: output)
      try wrapped { try requireNoClaimsReport(in: url) }
      if let windows, windows < 1 { throw RunError("--windows must be positive, got \(windows)") }
      if let perturb, !(perturb > 0) || !perturb.isFinite { throw RunError("--perturb must be a positive number, got \(perturb)") }
      if perturbSamples < 1 { throw RunError("--perturb-samples must be positive, got \(perturbSamples)") }
      let checkpoint = try wrapped { try BertCheckpoint(directory: URL(fileURLWithPath: model!)) }
      if seqLen < 3 || seqLen > checkpoint.configuration.maxPositions {
        throw RunError("--seq-len must be in 3...\(checkpoint.configuration.maxPositions) (max_position_embeddings of \(model!)), got \(seqLen)")
      }
      let contents = try text.map { try readTextFile($0).text }
      let setup = try wrapped {
        try TrainedClaimsSetup(
          checkpoint: checkpoint, text: contents, textPath: text, sequenceLength: seqLen, windows: windows,
          perturbation: perturb ?? 0, perturbationSamples: perturbSamples, seed: seed)
      }
      let only = self.only.map { Set($0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }) }
      let started = ContinuousClock.now
      let sections = setup.sections(
        only: only, randomInit: ClaimRunOptions(samples: samples, denseSamples: denseSamples, seed: seed),
        progress: { printError("mc-generic claims: \($0)") })
      try wrapped { try writeClaimsReport(sections, header: setup.reportHeader, to: url) }
      printError("mc-generic: wrote \(url.path)/report.md in \(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
    }

    /// `claims --model FILE.gguf|DIR` for GPT-2, Llama, GPT-NeoX and ALBERT: claims 1–3 beside the preset's initialisation.
    private func runOnTrainedTransformer() throws {
      let url = URL(fileURLWithPath: output)
      try wrapped { try requireNoClaimsReport(in: url) }
      if let windows, windows < 1 { throw RunError("--windows must be positive, got \(windows)") }
      if let perturb, !(perturb > 0) || !perturb.isFinite { throw RunError("--perturb must be a positive number, got \(perturb)") }
      if perturbSamples < 1 { throw RunError("--perturb-samples must be positive, got \(perturbSamples)") }
      if text != nil && tokenIDs != nil { throw RunError("--text and --token-ids both give the inputs; choose one") }
      if let only {
        let numbers = Set(only.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let unavailable = numbers.subtracting(TrainedTransformerClaimsSetup.claimNumbers).sorted()
        if !unavailable.isEmpty {
          throw RunError("--only \(only): claims \(unavailable.map(String.init).joined(separator: ", ")) are not run on \(model!) (claims 1, 2 and 3 are; 5 and 6 are BERT's, 4 and 7 random initialisation's)")
        }
      }
      let model = self.model!
      let checkpoint = try wrapped {
        model.hasSuffix(".gguf") ? try TrainedTransformer(gguf: model) : try TrainedTransformer(huggingFaceDirectory: URL(fileURLWithPath: model))
      }
      if let maximum = checkpoint.maximumSequenceLength, seqLen > maximum {
        throw RunError("--seq-len \(seqLen) exceeds the \(maximum) learned positions of \(model)")
      }
      if seqLen < 2 { throw RunError("--seq-len must be at least 2, got \(seqLen)") }
      var inputs: [[Int32]]? = nil, path: String? = nil, hash: String? = nil
      if let text {
        let (data, contents) = try readTextFile(text)
        inputs = try wrapped { try checkpoint.textWindows(of: contents, sequenceLength: seqLen, source: text) }
        (path, hash) = (text, sha256Hex(of: data))
      } else if let tokenIDs {
        let data = try readInputFile(tokenIDs, option: "--token-ids")
        inputs = try wrapped { try tokenIDWindows(data, source: tokenIDs, sequenceLength: seqLen, vocabularySize: checkpoint.vocabularySize) }
        (path, hash) = (tokenIDs, sha256Hex(of: data))
      } else if seqLen > checkpoint.ordinaryTokenIDs.count {
        throw RunError("--seq-len \(seqLen) needs \(seqLen) distinct tokens, but the vocabulary has \(checkpoint.ordinaryTokenIDs.count) ordinary ones")
      }
      if let count = windows, let all = inputs { inputs = Array(all.prefix(count)) }
      var setup = TrainedTransformerClaimsSetup(
        checkpoint: checkpoint, windows: inputs, randomCount: windows ?? 64, textPath: path, textSHA256: hash, sequenceLength: seqLen,
        perturbation: perturb ?? 0, perturbationSamples: perturbSamples, seed: seed)
      if tokenIDs != nil { setup.configuration.input = .tokenIDs }
      let selected = only.map { Set($0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }) }
      let started = ContinuousClock.now
      let sections = setup.sections(only: selected, progress: { printError("mc-generic claims: \($0)") })
      try wrapped { try writeClaimsReport(sections, header: setup.reportHeader, to: url) }
      printError("mc-generic: wrote \(url.path)/report.md in \(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
    }
  }
}
