import Foundation
import RankKernels

/// A trained model that the claims report can run Dong's surgeries on:
/// `BertCheckpoint` (BERT's report, with its per-layer probes) and
/// `TrainedTransformer` (GPT-2, Llama, GPT-NeoX and ALBERT: claims 1–3).
public protocol TrainedClaimsModel: Sendable {
  associatedtype SurgeryEngine: ForwardEngine
  /// The engine that runs this model on `sequences`, sample i on sequence i mod count.
  func surgeryEngine(on sequences: [[Int32]]) -> SurgeryEngine
}

extension BertCheckpoint: TrainedClaimsModel {
  public func surgeryEngine(on sequences: [[Int32]]) -> CheckpointEngine { CheckpointEngine(checkpoint: self, input: .windows(sequences)) }
}

extension TrainedTransformer: TrainedClaimsModel {
  public func surgeryEngine(on sequences: [[Int32]]) -> TrainedTransformerEngine {
    TrainedTransformerEngine(checkpoint: self, input: .windows(sequences))
  }
}

/// What the claims report on a trained checkpoint runs on: the checkpoint,
/// the same architecture at Hugging Face's initialisation, and the inputs
/// (text windows or random tokens), shared by both. Built by the
/// `BertCheckpoint` initialiser (BERT's report) or the `TrainedTransformer`
/// one (`TrainedTransformerClaimsSetup`).
public struct TrainedClaimsSetup<Model: TrainedClaimsModel>: Sendable {
  public var checkpoint: Model
  /// The checkpoint's architecture (and tokenizer) with HF's initialisation.
  public var initialisation: Model
  /// The inputs, `configuration.sequenceLength` ids each.
  public var sequences: [[Int32]]
  /// The text BERT's windows were cut from (its width experiment cuts it
  /// again at other lengths); nil for random tokens and for windows given as ids.
  public var text: String?
  public var textPath: String?
  public var textSHA256: String?
  /// Widths from the checkpoint, the sequence length, Dong's four surgeries at the model's norm position.
  public var configuration: ModelConfiguration
  /// `--perturb`: the neighbourhood of claim 3 (0: none).
  public var perturbation: Double
  /// Samples drawn in that neighbourhood (0 without one).
  public var perturbationSamples: Int
  public var seed: UInt64

  /// The fields both initialisers fill; records the inputs in `configuration.checkpoint`.
  init(
    checkpoint: Model, initialisation: Model, sequences: [[Int32]], text: String?, textPath: String?, textSHA256: String?,
    configuration: ModelConfiguration, source: CheckpointSource, perturbation: Double, perturbationSamples: Int, seed: UInt64
  ) {
    self.checkpoint = checkpoint
    self.initialisation = initialisation
    self.sequences = sequences
    self.text = text
    self.textPath = textPath
    self.textSHA256 = textSHA256
    self.configuration = configuration
    self.configuration.checkpoint = source
    self.perturbation = perturbation
    self.perturbationSamples = perturbation > 0 ? perturbationSamples : 0
    self.seed = seed
  }

  /// (label, model): the checkpoint, then its initialisation.
  var models: [(label: String, model: Model)] { [("trained", checkpoint), ("HF init", initialisation)] }

  /// The engine's metrics `[sample][variant][layer]` of `model` on every input
  /// (sample i on sequence i mod count), `perturbation` applied per sample.
  func surgeryMetrics(_ model: Model, perturbation: Double = 0, samples: Int? = nil) -> [[[MetricValues]]] {
    var c = configuration
    c.checkpoint?.perturbation = perturbation
    let engine = model.surgeryEngine(on: sequences)
    let configuration = c, seed = seed
    return mapSamples(samples ?? sequences.count) { engine.run(sample: UInt64($0), configuration: configuration, seed: seed) }
  }
}

extension TrainedClaimsSetup where Model == BertCheckpoint {
  /// - Parameters:
  ///   - checkpoint: the trained BERT-family model.
  ///   - text: the text cut into windows of n tokens (`[CLS] … [SEP]`), or nil for random tokens.
  ///   - textPath: the text's path, recorded in the report.
  ///   - n: tokens per sequence.
  ///   - windows: at most this many text windows (nil: all), or this many
  ///     random-token sequences without a text (nil: 64).
  ///   - perturbation: claim 3's neighbourhood ε (0: none).
  ///   - perturbationSamples: samples drawn in that neighbourhood.
  ///   - seed: the random streams' seed.
  public init(
    checkpoint: BertCheckpoint, text: String?, textPath: String?, sequenceLength n: Int, windows: Int?,
    perturbation: Double, perturbationSamples: Int, seed: UInt64
  ) throws(CheckpointError) {
    var initialisation = checkpoint
    initialisation.parameters = .huggingFaceInitialisation(checkpoint.configuration, seed: seed)
    var c = ModelConfiguration(architecture: checkpoint.configuration, sequenceLength: n)
    c.variants = Variant.dongSurgeries
    let sequences: [[Int32]], textSHA256: String?
    if let text {
      let all = try checkpoint.tokenizer.windows(of: text, sequenceLength: n, source: textPath ?? "text")
      sequences = Array(all.prefix(windows ?? all.count))
      textSHA256 = sha256Hex(of: Data(text.utf8))
      c.input = .text
    } else {
      sequences = checkpoint.tokenizer.randomTokenSequences(count: windows ?? 64, length: n, seed: seed)
      textSHA256 = nil
      c.input = .randomTokens
    }
    let source = CheckpointSource(
      directory: checkpoint.directory.path, name: checkpoint.name, modelSHA256: checkpoint.modelSHA256,
      textPath: textPath, textSHA256: textSHA256, windowCount: text == nil ? nil : sequences.count)
    self.init(
      checkpoint: checkpoint, initialisation: initialisation, sequences: sequences, text: text, textPath: textPath,
      textSHA256: textSHA256, configuration: c, source: source, perturbation: perturbation,
      perturbationSamples: perturbationSamples, seed: seed)
  }

  /// Probes of `variant` on the first `count` inputs: `visit(sequence, layer)`.
  func probes<T: Sendable>(_ model: BertCheckpoint, variant: Variant, count: Int, sequenceLength: Int? = nil, inputs: [[Int32]]? = nil, _ visit: @escaping @Sendable (ProbedLayer) -> T) -> [[T]] {
    let sequences = inputs ?? self.sequences
    var c = configuration
    if let sequenceLength { c.sequenceLength = sequenceLength }
    let configuration = c, parameters = model.parameters
    return mapSamples(min(count, sequences.count)) { s in
      var results: [T] = []
      probeCheckpointForward(parameters, tokens: sequences[s], configuration: configuration, variant: variant) { results.append(visit($0)) }
      return results
    }
  }

  /// One line naming the inputs, for the report.
  var inputDescription: String {
    if let textPath {
      return "\(sequences.count) windows of \(configuration.sequenceLength) tokens ([CLS] + \(configuration.sequenceLength - 2) + [SEP]) of `\(textPath)` (SHA-256 \(textSHA256 ?? "?"))"
    }
    return "\(sequences.count) sequences of \(configuration.sequenceLength) tokens: [CLS], \(configuration.sequenceLength - 2) distinct ids drawn uniformly from the non-special vocabulary, [SEP]"
  }
}

/// The values of one metric: `[variant][layer][sample]`.
func metricColumns(_ results: [[[MetricValues]]], _ metric: Metric, variants: Int, layers: Int) -> [[[Double]]] {
  (0..<variants).map { v in (0...layers).map { l in results.map { $0[v][l][metric] } } }
}

/// Mean and sample standard deviation (NaN below two values), and the 1 %
/// and 99 % empirical quantiles (nearest rank), of the finite values.
func spread(_ values: [Double]) -> (mean: Double, standardDeviation: Double, p1: Double, p99: Double) {
  let finite = values.filter(\.isFinite).sorted()
  guard !finite.isEmpty else { return (.nan, .nan, .nan, .nan) }
  let mean = finite.reduce(0, +) / Double(finite.count)
  let variance = finite.count > 1 ? finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(finite.count - 1) : .nan
  func quantile(_ q: Double) -> Double { finite[min(finite.count - 1, max(0, Int((q * Double(finite.count)).rounded(.up)) - 1))] }
  return (mean, variance.squareRoot(), quantile(0.01), quantile(0.99))
}
