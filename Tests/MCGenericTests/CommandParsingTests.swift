import ArgumentParser
import CollapseLab
import Testing

@testable import mc_generic

/// Each subcommand's parsing and validation, in process: what the shell smoke
/// test checks on the built executable, here with the parsed values.
@Suite struct CommandParsingTests {
  /// The command `arguments` parse to, validated.
  private func parse(_ arguments: [String]) throws -> any ParsableCommand {
    try MCGeneric.parseAsRoot(arguments)
  }

  /// The one-line message `arguments` are refused with (nil when accepted).
  private func refusal(_ arguments: [String]) -> String? {
    do {
      _ = try parse(arguments)
      return nil
    } catch {
      return MCGeneric.message(for: error)
    }
  }

  @Test func runIsTheDefaultSubcommandAndTakesTypedOptions() throws {
    let run = try #require(try parse([
      "--architecture", "gpt2", "--norm", "rms", "--final-norm", "none", "--mlp", "gelu-tanh", "--positions", "rope",
      "--weight-distribution", "uniform", "--input", "embeddings", "--backend", "openblas", "--rank-method", "exact",
      "--engine", "dense", "--samples", "3", "--threads", "2",
    ]) as? MCGeneric.Run)
    #expect(run.model.architecture == .gpt2 && run.model.norm == .rms && run.model.finalNorm == FinalNormArgument.none)
    #expect(run.model.mlp == .geluTanh && run.model.positions == .rope && run.model.weightDistribution == .uniform)
    #expect(run.model.input == .embeddings && run.backend == .openBLAS && run.engine == .dense)
    #expect(run.execution.rankMethod == .exact && run.execution.threads == 2 && run.samples == 3)
    let configuration = try run.model.makeConfiguration()
    #expect(configuration.architecture == .gpt2 && configuration.block.normKind == .rms && configuration.block.finalNorm == nil)
    #expect(configuration.activation == .geluTanh && configuration.weightDistribution == .uniform && configuration.input == .embeddings)
  }

  @Test(arguments: [
    (["--architecture", "gpt3"], "'gpt3' is invalid for '--architecture <architecture>'"),
    (["--norm", "batch"], "'batch' is invalid for '--norm <norm>'"),
    (["--mlp", "gelu_new"], "'gelu_new' is invalid for '--mlp <mlp>'"),
    (["--backend", "cuda"], "'cuda' is invalid for '--backend <backend>'"),
    (["--engine", "exact"], "'exact' is invalid for '--engine <engine>'"),
    (["--samples", "0"], "--samples must be positive, got 0"),
    (["--threads", "0"], "--threads must be positive, got 0"),
    (["--checkpoint-seconds", "0"], "--checkpoint-seconds must be positive, got 0.0"),
    (["--output", "a", "--resume", "b"], "--output and --resume name different directories"),
    (["--engine", "sketch", "--model", "m"], "--engine sketch cannot run a trained checkpoint"),
    (["--engine", "gram", "--model", "m"], "--engine gram cannot run a trained checkpoint"),
    (["measure"], "measure needs at least one hidden-state file"),
    (["measure", "h.safetensors"], "measure needs --output DIR (or --resume DIR)"),
    (["measure", "h.safetensors", "--output", "o", "--rank-tolerance", "0"], "--rank-tolerance must be positive, got 0.0"),
    (["plot"], "plot needs at least one result directory"),
    (["plot", "a", "b"], "plotting several directories needs --output FILE.svg"),
    (["plot", "a", "b", "--output", "p.svg", "--labels", "x"], "--labels names 1 runs but 2 directories are given"),
    (["tokenize", "--model", "m"], "give --text FILE or one or more texts"),
    (["tokenize", "--model", "m", "--text", "t", "word"], "give --text FILE or texts as arguments, not both"),
    (["inspect", "f.gguf", "--tensor", "t"], "--tensor and --output go together"),
    (["merge", "a"], "Missing expected argument '--output <output>'"),
    (["claims"], "Missing expected argument '--output <output>'"),
  ])
  func badArgumentsAreRefusedInOneLine(arguments: [String], expected: String) {
    let message = refusal(arguments)
    #expect(message?.contains(expected) == true, "\(arguments): \(message ?? "accepted")")
    #expect(message?.contains("\n") == false)
  }

  @Test func libraryErrorsAreRenderedWithTheFlags() throws {
    let run = try #require(try parse(["--heads", "7"]) as? MCGeneric.Run)
    #expect(throws: RunError("--d-model (768) must be divisible by --heads (7)")) { try run.model.makeConfiguration() }
    let llama = try #require(try parse(["--architecture", "llama", "--random-biases"]) as? MCGeneric.Run)
    #expect(throws: RunError("--random-biases: the llama block has no biases (pass --biases to add them)")) {
      try llama.model.makeConfiguration()
    }
  }

  /// Every setting a library error can name has a flag mc-generic accepts.
  @Test(arguments: ConfigurationSetting.allCases)
  func everySettingHasAnAcceptedFlag(setting: ConfigurationSetting) {
    let help = MCGeneric.helpMessage(for: MCGeneric.Run.self) + MCGeneric.helpMessage(for: MCGeneric.Claims.self)
    #expect(help.contains(setting.flag + " ") || help.contains(setting.flag + "/"), "\(setting) → \(setting.flag)")
  }

  @Test func inputsNeedingACheckpointAreRefusedWithoutOne() throws {
    let run = try #require(try parse(["--input", "random-tokens"]) as? MCGeneric.Run)
    #expect(throws: RunError.self) { try run.model.makeConfiguration() }
    #expect(!InputKind.allValueStrings.contains("text") && InputKind.allValueStrings.contains("random-tokens"))
  }
}
