@testable import CollapseLab
import Foundation
import Testing

@Suite("Gram-space engine agrees in distribution with the dense engine")
struct GramEngineTests {
  typealias Sketch = SketchEngineTests

  /// Dense and Gram engines on every (variant, layer, metric), KS at the
  /// sketch tests' critical value, and the negative control: a 1.25× error
  /// in every weight's standard deviation must be caught.
  private func compare(_ c: ModelConfiguration, seed: UInt64, name: String) throws {
    #expect(gramInexactReason(c) == nil, "\(name): \(gramInexactReason(c) ?? "")")
    try Sketch.expectAgreesWithDense(GramEngine(), wrong: GramEngine(varianceScaleForTesting: 1.25), seed: seed, configuration: c, name: name)
  }

  /// BERT's default variants and PG-OP; the debug suite runs the small
  /// configuration, release both.
  @Test(arguments: Sketch.optimized ? [Sketch.debugConfiguration, Sketch.configuration] : [Sketch.debugConfiguration])
  func everyMetricAgreesAndAVarianceBugIsCaught(configuration c: ModelConfiguration) throws {
    try compare(c, seed: 31, name: "bert d=\(c.modelDimension)")
  }

  static let blocks: [Sketch.BlockCase] = [
    Sketch.BlockCase("gpt2", Sketch.smallBlock(.gpt2)),
    Sketch.BlockCase("llama (RoPE, grouped-query heads, RMSNorm, SwiGLU)", Sketch.smallBlock(.llama)),
    Sketch.BlockCase("pythia (parallel, partial RoPE)", Sketch.smallBlock(.pythia)),
    Sketch.BlockCase("gpt2, window:4 mask, n = 24 > d_k (explicit attention products)", {
      var c = Sketch.smallBlock(.gpt2)
      c.sequenceLength = 24
      c.block.mask = .window(4)
      return c
    }()),
  ]

  @Test(.enabled(if: Sketch.optimized, "statistical comparison of the presets runs in release builds (see .ci/run)"), arguments: blocks)
  func everyBlockAgreesAndAVarianceBugIsCaught(_ block: Sketch.BlockCase) throws {
    try compare(block.configuration, seed: 37, name: block.name)
  }

  @Test func samplesAreDeterminedBySeedAndIndex() {
    let c = Sketch.debugConfiguration
    let engine = GramEngine()
    // Bit patterns: the input's attention entropy is NaN, and NaN ≠ NaN.
    func bits(_ sample: UInt64, _ seed: UInt64) -> [[[UInt64]]] {
      engine.run(sample: sample, configuration: c, seed: seed).map { $0.map { $0.values.map(\.bitPattern) } }
    }
    let first = bits(5, 9)
    #expect(first == bits(5, 9))
    #expect(first != bits(6, 9))
    #expect(first != bits(5, 10))
  }

  @Test func refusesWhereItsIdentitiesDoNotHold() {
    var c = Sketch.debugConfiguration
    #expect(gramInexactReason(c) == nil)
    c.randomBiases = true
    #expect(gramInexactReason(c)?.contains("--random-biases") == true)
    c = Sketch.debugConfiguration; c.randomLayerNormAffine = true
    #expect(gramInexactReason(c)?.contains("--random-layernorm") == true)
    c = Sketch.debugConfiguration; c.input = .embeddings
    #expect(gramInexactReason(c)?.contains("--input") == true)
    c = Sketch.debugConfiguration; c.rankMethod = .exact
    #expect(gramInexactReason(c)?.contains("--rank-method") == true)
    c = Sketch.debugConfiguration; c.sequenceLength = 16
    #expect(gramInexactReason(c)?.contains("d ≥ 2n + 1") == true)
    c = Sketch.debugConfiguration; c.weightDistribution = .uniform
    #expect(gramInexactReason(c) != nil)
  }
}
