import Foundation
import RankKernels

/// What the claims report on a trained checkpoint runs on: the checkpoint,
/// the same architecture at Hugging Face's initialisation, and the inputs
/// (text windows or random tokens), shared by both.
public struct TrainedClaimsSetup: Sendable {
  public var checkpoint: BertCheckpoint
  /// The checkpoint's architecture and tokenizer with `BertParameters.huggingFaceInitialisation` weights.
  public var initialisation: BertCheckpoint
  /// The inputs, `[CLS] … [SEP]` of `configuration.sequenceLength` ids each.
  public var sequences: [[Int32]]
  /// The text the windows come from (the width experiment cuts it again at other lengths).
  public var text: String?
  public var textPath: String?
  public var textSHA256: String?
  /// Widths from config.json, the sequence length, Dong's four surgeries.
  public var configuration: ModelConfiguration
  /// `--perturb`: the neighbourhood of claim 3 (0: none).
  public var perturbation: Double
  public var perturbationSamples: Int
  public var seed: UInt64

  /// - Parameters:
  ///   - checkpoint: the trained BERT-family model.
  ///   - text: the text cut into windows of n tokens, or nil for random tokens.
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
    self.checkpoint = checkpoint
    var initialisation = checkpoint
    initialisation.parameters = .huggingFaceInitialisation(checkpoint.configuration, seed: seed)
    self.initialisation = initialisation
    self.text = text
    self.textPath = textPath
    self.perturbation = perturbation
    self.perturbationSamples = perturbation > 0 ? perturbationSamples : 0
    self.seed = seed
    var c = ModelConfiguration(architecture: checkpoint.configuration, sequenceLength: n)
    c.variants = Variant.dongSurgeries
    if let text {
      let all = try checkpoint.tokenizer.windows(of: text, sequenceLength: n, source: textPath ?? "text")
      sequences = Array(all.prefix(windows ?? all.count))
      textSHA256 = sha256Hex(of: Data(text.utf8))
      c.input = .text
    } else {
      sequences = checkpoint.tokenizer.randomTokenSequences(count: windows ?? 64, length: n, seed: seed)
      c.input = .randomTokens
    }
    c.checkpoint = CheckpointSource(
      directory: checkpoint.directory.path, name: checkpoint.name, modelSHA256: checkpoint.modelSHA256,
      textPath: textPath, textSHA256: textSHA256, windowCount: text == nil ? nil : sequences.count)
    configuration = c
  }

  /// (label, model): the checkpoint, then its initialisation.
  var models: [(label: String, model: BertCheckpoint)] { [("trained", checkpoint), ("HF init", initialisation)] }

  /// The engine's metrics `[sample][variant][layer]` of `model` on every input
  /// (sample i on sequence i mod count), `perturbation` applied per sample.
  func surgeryMetrics(_ model: BertCheckpoint, perturbation: Double = 0, samples: Int? = nil) -> [[[MetricValues]]] {
    var c = configuration
    c.checkpoint?.perturbation = perturbation
    let engine = CheckpointEngine(checkpoint: model, input: .windows(sequences))
    let configuration = c, seed = seed
    return mapSamples(samples ?? sequences.count) { engine.run(sample: UInt64($0), configuration: configuration, seed: seed) }
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
