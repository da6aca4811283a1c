import RankKernels

/// Runs one Monte Carlo sample: draws its parameters and input from the
/// counter-based RNG keyed by (seed, sample index) and returns the metrics of
/// every variant at layer 0 (the input) and after each layer.
///
/// Engines must be deterministic functions of (configuration, seed, sample):
/// no state may carry over between samples, so results do not depend on the
/// thread count, the order of samples or the sharding.
public protocol ForwardEngine: Sendable {
  var kind: EngineKind { get }
  /// `result[v][l]` for variant v of `configuration.variants` and layer l in 0...layers.
  func run(sample: UInt64, configuration: ModelConfiguration, seed: UInt64) -> [[MetricValues]]
  /// `run` for engines whose samples can fail (reading saved states): what
  /// `MonteCarloRun` calls. Engines that cannot fail take the default.
  func checkedRun(sample: UInt64, configuration: ModelConfiguration, seed: UInt64) throws -> [[MetricValues]]
  /// `checkedRun` written to `results` (caller-owned, sized by
  /// `SampleMetrics.count(for:)`): what `MonteCarloRun` calls.
  /// ``InPlaceForwardEngine``s compute into it directly (no heap allocation
  /// after a warm-up sample on the calling thread); the default calls
  /// `checkedRun` and copies.
  func checkedRun(sample: UInt64, configuration: ModelConfiguration, seed: UInt64, into results: SampleMetrics) throws
}

extension ForwardEngine {
  /// The kind's name (`dense`, `sketch`, `measure`).
  public var name: String { kind.rawValue }

  public func checkedRun(sample: UInt64, configuration: ModelConfiguration, seed: UInt64) throws -> [[MetricValues]] {
    run(sample: sample, configuration: configuration, seed: seed)
  }

  public func checkedRun(sample: UInt64, configuration: ModelConfiguration, seed: UInt64, into results: SampleMetrics) throws {
    results.assign(try checkedRun(sample: sample, configuration: configuration, seed: seed))
  }
}

/// An engine whose samples are computed straight into caller-owned memory:
/// it provides `run(sample:configuration:seed:into:)`, and the array-returning
/// `run` and `MonteCarloRun`'s `checkedRun(…into:)` follow from it. The Gram,
/// sketch and dense engines are these.
public protocol InPlaceForwardEngine: ForwardEngine {
  /// ``ForwardEngine/run(sample:configuration:seed:)`` written to `results`
  /// (sized by `SampleMetrics.count(for:)`). After a warm-up sample of the
  /// same configuration on the calling thread it makes no heap allocation
  /// (without random biases or norm parameters, on a Gaussian input).
  func run(sample: UInt64, configuration: ModelConfiguration, seed: UInt64, into results: SampleMetrics)
}

extension InPlaceForwardEngine {
  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    SampleMetrics.collecting(for: c) { run(sample: sample, configuration: c, seed: seed, into: $0) }
  }

  public func checkedRun(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, into results: SampleMetrics) {
    run(sample: sample, configuration: c, seed: seed, into: results)
  }
}

/// Random stream ids: one per (sample, layer, purpose), so every quantity of
/// every sample has its own reproducible numbers.
enum StreamPurpose: UInt64 {
  case input = 0, inputAuxiliary, inputShared
  /// ALBERT's embedding projection E → d (`--input embeddings`).
  case embeddingProjection = 3
  /// The Gram engine's input: the Bartlett factor of its Gram matrix off the
  /// ones direction (normals, uniforms), and the sample's Haar frame.
  case inputComplement = 4, inputComplementUniforms, onesComplementFrame
  case query = 8, key, value, output, feedForwardIn, feedForwardOut, biases, layerNormAffine
  /// The sketch engine's attention shortcut (see `SketchEngine`): the n × n
  /// Gaussian factors of the score products, and the Bartlett factors of the
  /// key and value products with the uniforms of their chi variates.
  case scoreGaussians = 16, keyFactors, valueFactors, keyFactorUniforms, valueFactorUniforms
  /// PG-OP's gate weights (d × H) and, with random biases, its gate biases.
  case gates = 21, gateBiases
  /// SwiGLU's gate projection W_gate (d × d_ff); W_up is `feedForwardIn`.
  case feedForwardGate = 23
  /// The Gram engine's residual products (`GramState.add`): for W_O and the
  /// MLP's down projection, the coordinates along 1_d and on the state's span,
  /// and the Bartlett factor of the complement (normals, uniforms).
  case outputCoordinates = 24, outputComplement, outputComplementUniforms
  case feedForwardOutCoordinates = 27, feedForwardOutComplement, feedForwardOutComplementUniforms
}

/// Sample indices that mc-generic accepts: below 2⁵³, so that counts and
/// fractions are exact in Float64.
public let maximumSampleCount = 1 << 53

/// The low 40 bits of a sample index go into the stream id (bits 16–55; the
/// sketch engine tags variants in bits 56–63), the rest into the stream's
/// `family`: samples below 2⁴⁰ keep the numbers of earlier versions.
private let sampleBitsInStreamID: UInt64 = 40

func streamID(sample: UInt64, layer: Int, _ purpose: StreamPurpose) -> UInt64 {
  // 16 bits for (layer, purpose): layers < 1024.
  (lowSampleBits(sample) << 16) | (UInt64(layer) << 5) | purpose.rawValue
}

private func lowSampleBits(_ sample: UInt64) -> UInt64 { sample & ((1 << sampleBitsInStreamID) - 1) }
private func sampleFamily(_ sample: UInt64) -> UInt32 { UInt32(sample >> sampleBitsInStreamID) }

/// The random stream of one (sample, layer, purpose); `tag` sets stream bits
/// 56–63 (the sketch engine's variant).
func sampleStream(seed: UInt64, sample: UInt64, layer: Int, _ purpose: StreamPurpose, tag: UInt64 = 0) -> RandomStream {
  RandomStream(seed: seed, stream: streamID(sample: sample, layer: layer, purpose) | (tag << 56), family: sampleFamily(sample))
}

/// The stream of a checkpoint tensor's perturbation noise in one sample
/// (`--perturb`): bit 15, which `streamID` never sets (layers < 1024), marks
/// the checkpoint streams; the low 15 bits are `BertTensor.index`.
func parameterStream(seed: UInt64, sample: UInt64, tensorIndex: Int) -> RandomStream {
  precondition(tensorIndex < 1 << 15, "checkpoint tensor index \(tensorIndex) out of range")
  return RandomStream(seed: seed, stream: (lowSampleBits(sample) << 16) | (1 << 15) | UInt64(tensorIndex), family: sampleFamily(sample))
}
