import RankKernels

/// The reference engine: materialises every weight matrix of every layer and
/// runs the forward pass with dense products.
///
/// All variants of one sample share the same input and the same weights
/// (paired comparison: differences between variants are not sampling noise).
/// Kernels run single-threaded: parallelism is over samples.
public struct DenseEngine: ForwardEngine {
  public init() {}
  public var kind: EngineKind { .dense }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let needsMLP = c.variants.contains { $0.mlp }
    let weights = LayerWeights(modelDimension: c.modelDimension, feedForwardDimension: needsMLP ? c.feedForwardDimension : 0)
    return runEncoder(sample: sample, configuration: c, seed: seed, projectorUsesGram: false) { layer in
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
    let matrix: [Float]
    switch purpose {
    case .query: matrix = weights.query
    case .key: matrix = weights.key
    case .value: matrix = weights.value
    case .output: matrix = weights.output
    case .feedForwardIn: matrix = weights.feedForwardIn
    case .feedForwardOut: matrix = weights.feedForwardOut
    case .gates: matrix = weights.gate
    case .feedForwardGate: matrix = weights.feedForwardGate
    default: preconditionFailure("no weight matrix for \(purpose)")
    }
    return operand.times(matrix, columns: columns)
  }
}
