import RankKernels

/// What one attention sublayer's probabilities say, averaged over heads: the
/// per-layer attention metrics (`attention_entropy`, `attention_spectral_gap`,
/// `attention_sink_mass`). All NaN for the input (layer 0); the last two NaN
/// unless the run asks for them (`ModelConfiguration.attentionSpectra`: they
/// need the probabilities written out and an n × n eigenvalue problem per
/// head, which made the 16-token BERT-base job 1.5× slower).
public struct AttentionStatistics: Sendable, Equatable {
  /// Mean over heads and query rows of −Σⱼ pᵢⱼ log pᵢⱼ (nats).
  public var entropy: Double
  /// Mean over heads of σ₁(A_h) − σ₂(A_h): Naderi et al.'s (2025) "rank
  /// collapse in width" quantity. σ₁ ≥ 1 for a row-stochastic A; a gap near
  /// σ₁ means A_h ≈ 1·πᵀ (every token attends alike). NaN above
  /// `AttentionStatistics.spectralGapLimit` tokens.
  public var spectralGap: Double
  /// Mean over heads and query rows of the probability on the first token
  /// (the attention sink of decoder studies; 1/n for uniform bidirectional attention).
  public var sinkMass: Double

  public init(entropy: Double, spectralGap: Double, sinkMass: Double) {
    self.entropy = entropy
    self.spectralGap = spectralGap
    self.sinkMass = sinkMass
  }

  /// The input's: no attention.
  public static let absent = AttentionStatistics(entropy: .nan, spectralGap: .nan, sinkMass: .nan)

  /// The spectral gap takes the eigenvalues of each head's n × n Gram matrix
  /// A·Aᵀ in Float64, about (7/3)·n³ flops per head: cubic in n, so it is
  /// computed up to n = 128.
  public static let spectralGapLimit = 128

  /// From row entropies [heads, n] and, when given, probabilities [heads, n, n]
  /// (query-major). The per-head Gram matrices and eigenvalues live in
  /// per-thread scratch (`--attention-spectra` runs this per layer and variant).
  init(rowEntropies: UnsafeBufferPointer<Float>, probabilities: UnsafeBufferPointer<Float>?, heads: Int, sequenceLength n: Int) {
    entropy = rowEntropies.reduce(0.0) { $0 + Double($1) } / Double(rowEntropies.count)
    guard let probabilities else {
      spectralGap = .nan
      sinkMass = .nan
      return
    }
    precondition(probabilities.count == heads * n * n)
    var sink = 0.0, gap = 0.0
    let scratch = SampleScratch.current
    let gram = scratch.buffer(.attentionSpectrumGram, count: n * n, of: Double.self)
    let eigenvalues = scratch.buffer(.attentionSpectrumEigenvalues, count: n, of: Double.self)
    for h in 0..<heads {
      let head = probabilities.baseAddress! + h * n * n
      for i in 0..<n { sink += Double(head[i * n]) }
      if n <= Self.spectralGapLimit {
        // σᵢ² are the eigenvalues of A·Aᵀ (Float64): ~3× cheaper than a
        // bidiagonal SVD at n = 16, and σ₂ is resolved to ~1e-8·σ₁, far
        // below any gap the metric reports.
        gramMatrix(rows: n, columns: n, x: head, ldx: n, gram: gram, ldg: n)
        symmetricEigenvalues(n: n, a: gram, lda: n, into: eigenvalues)
        let first = max(0, eigenvalues[0]).squareRoot(), second = n > 1 ? max(0, eigenvalues[1]).squareRoot() : 0
        gap += first - second
      }
    }
    sinkMass = sink / Double(heads * n)
    spectralGap = n <= Self.spectralGapLimit ? gap / Double(heads) : .nan
  }
}
