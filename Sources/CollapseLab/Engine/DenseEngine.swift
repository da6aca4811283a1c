import RankKernels

/// The reference engine: materialises every weight matrix of every layer and
/// runs the forward pass with dense products.
///
/// All variants of one sample share the same input and the same weights
/// (paired comparison: differences between variants are not sampling noise).
/// Kernels run single-threaded: parallelism is over samples.
public struct DenseEngine: InPlaceForwardEngine {
  public init() {}
  public var kind: EngineKind { .dense }

  /// ``run(sample:configuration:seed:)`` written to `results`; the weights
  /// are redrawn into the thread's `EncoderWorkspace` (no allocation after
  /// a warm-up sample, without random biases or norm parameters).
  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64, into results: SampleMetrics) {
    let needsMLP = c.variants.contains { $0.mlp }
    let weights = EncoderWorkspace.current.weights
    weights.forgetDrawnGroup()
    runEncoder(sample: sample, configuration: c, seed: seed, projectorUsesGram: false, into: results) { layer in
      weights.draw(sample: sample, layer: layer, configuration: c, seed: seed, includeMatrices: true, includeMLP: needsMLP)
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }
}

/// The dense engine's projector: the drawn matrices themselves.
struct DenseProjector: WeightProjector {
  let weights: LayerWeights
  func prepare(_ y: [Float], rows: Int, gram: [Double]?) -> ProjectionOperand {
    ProjectionOperand(matrix: y, rows: rows)
  }
  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose) -> [Float] {
    operand.times(matrix(purpose), columns: columns)
  }

  func project(_ operand: ProjectionOperand, columns: Int, purpose: StreamPurpose, into product: UnsafeMutablePointer<Float>) {
    matrix(purpose).withUnsafeBufferPointer { operand.times($0.baseAddress!, columns: columns, into: product) }
  }

  private func matrix(_ purpose: StreamPurpose) -> [Float] {
    switch purpose {
    case .query: weights.query
    case .key: weights.key
    case .value: weights.value
    case .output: weights.output
    case .feedForwardIn: weights.feedForwardIn
    case .feedForwardOut: weights.feedForwardOut
    case .gates: weights.gate
    case .feedForwardGate: weights.feedForwardGate
    default: preconditionFailure("no weight matrix for \(purpose)")
    }
  }
}
