@testable import CollapseLab
import Foundation
import Testing

@Suite("Block description, presets and the forward pass over them")
struct BlockDescriptionTests {
  /// Bit patterns of one variant's metrics by layer: equality that treats a NaN (a metric not measured) as equal to itself.
  static func bits(_ layers: [MetricValues]) -> [[UInt64]] { layers.map { $0.values.map(\.bitPattern) } }

  /// L=2, d=32, H=4, d_ff=64, n=6 versions of a preset, small enough for debug builds.
  static func small(_ architecture: Architecture) -> ModelConfiguration {
    var c = architecture.configuration
    c.layers = 2; c.modelDimension = 32; c.heads = 4; c.feedForwardDimension = 64; c.sequenceLength = 6
    if architecture == .llama { c.block.keyValueHeads = 2 }
    return c
  }

  @Test(arguments: Architecture.allCases)
  func presetsAreValidAndNameTheirUnmodifiedVariant(_ architecture: Architecture) throws {
    let c = architecture.configuration
    try c.validate()
    #expect(c.architecture == architecture)
    let expected: [Architecture: String] = [
      .bertBase: "attn+res+ln+mlp", .albertBase: "attn+res+ln+mlp", .gpt2: "attn+res+preln+mlp",
      .llama: "attn+res+preln+mlp", .pythia: "attn+res+parln+mlp",
    ]
    #expect(c.unmodifiedVariant?.description == expected[architecture])
    // The configuration round-trips through the state file's JSON.
    let decoded = try JSONDecoder().decode(ModelConfiguration.self, from: JSONEncoder().encode(c))
    #expect(decoded == c)
  }

  @Test func presetDimensionsAreTheModels() {
    let llama = Architecture.llama.configuration
    #expect(llama.layers == 30 && llama.modelDimension == 576 && llama.heads == 9 && llama.keyValueHeads == 3)
    #expect(llama.feedForwardDimension == 1536 && llama.activation == .swiglu && llama.block.ropeTheta == 100_000 && !llama.block.biases)
    let pythia = Architecture.pythia.configuration
    #expect(pythia.rotaryDimensions == 16 && pythia.block.normPosition == .parallel)
    let albert = Architecture.albertBase.configuration
    #expect(albert.embeddingSize == 128 && albert.block.sharedLayerGroups == 1 && albert.activation == .geluTanh)
    let gpt2 = Architecture.gpt2.configuration
    #expect(gpt2.weightScale(for: .output) == 0.02 / Float(24.0.squareRoot()) && gpt2.weightScale(for: .query) == 0.02)
  }

  @Test func oldStateFilesDecodeAsBERT() throws {
    // A configuration written before the block description existed.
    var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ModelConfiguration())) as! [String: Any]
    object["block"] = nil
    object["architecture"] = nil
    let decoded = try JSONDecoder().decode(ModelConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
    #expect(decoded == ModelConfiguration())
  }

  @Test(arguments: [
    ("bidirectional", AttentionMask.bidirectional), ("causal", .causal), ("window:5", .window(5)),
  ])
  func masksParseAndPrint(text: String, mask: AttentionMask) throws {
    #expect(try AttentionMask(parsing: text) == mask)
    #expect(mask.description == text)
  }

  @Test func maskEntries() {
    let window = AttentionMask.window(2).additiveMask(sequenceLength: 4)!
    // Row i allows keys i-1 and i.
    let allowed = (0..<4).map { i in (0..<4).filter { window[i * 4 + $0] == 0 } }
    #expect(allowed == [[0], [0, 1], [1, 2], [2, 3]])
    #expect(AttentionMask.bidirectional.additiveMask(sequenceLength: 4) == nil)
    #expect(AttentionMask.causal.additiveMask(sequenceLength: 3)! == [0, -.infinity, -.infinity, 0, 0, -.infinity, 0, 0, 0])
  }

  @Test(arguments: [
    ("attn+parln+ln", "exclude each other"), ("attn+parln+mlp+res-mlp", "one skip"), ("attn+parln+res-attn", "one skip"),
    ("attn+preln+ln", "exclude each other"),
  ])
  func parallelVariantsAreRefusedWhereTheyMeanNothing(name: String, message: String) {
    #expect { try Variant(parsing: name) } throws: { ($0 as? ConfigurationError)?.description.contains(message) == true }
  }

  @Test func surgeriesPerNormPosition() {
    #expect(Variant.dongSurgeries(normPosition: .post) == Variant.dongSurgeries)
    #expect(Variant.dongSurgeries(normPosition: .pre).map(\.description) == ["attn+preln", "attn+preln+mlp+res-mlp", "attn+res+preln", "attn+res+preln+mlp"])
    #expect(Variant.dongSurgeries(normPosition: .parallel).map(\.description) == ["attn+parln", "attn+parln+mlp", "attn+res+parln", "attn+res+parln+mlp"])
  }

  /// Each bad setting is refused with a message naming the setting and values.
  @Test(arguments: [
    ("kv", "keyValueHeads 3 must divide heads 4"), ("window0", "mask window:0"), ("window7", "mask window:7"),
    ("fraction0", "rotaryFraction must be in (0, 1]"), ("odd", "RoPE needs an even whole number"),
    ("shared", "sharedLayerGroups 3 must divide layers 2"), ("biases", "has no biases"),
  ])
  func badBlocksAreRefused(setting: String, message: String) {
    var c = Self.small(.llama)
    switch setting {
    case "kv": c.block.keyValueHeads = 3
    case "window0": c.block.mask = .window(0)
    case "window7": c.block.mask = .window(7)
    case "fraction0": c.block.rotaryFraction = 0
    case "odd": c.block.rotaryFraction = 0.375  // 3 of 8 dimensions
    case "shared": c.block.sharedLayerGroups = 3
    default: c.randomBiases = true
    }
    #expect { try c.validate() } throws: { ($0 as? ConfigurationError)?.description.contains(message) == true }
  }

  /// Without an MLP a parallel block is a pre-norm block: `attn+parln` and
  /// `attn+preln` (and with the skip) give the same numbers bit for bit on
  /// the same weights.
  @Test func parallelWithoutMLPIsPreNorm() throws {
    var c = Self.small(.pythia)
    c.variants = try Variant.parseList("attn+parln,attn+preln,attn+res+parln,attn+res+preln")
    let result = DenseEngine().run(sample: 3, configuration: c, seed: 1).map(Self.bits)
    #expect(result[0] == result[1])
    #expect(result[2] == result[3])
    #expect(result[0] != result[2])
  }

  /// Shared layers: ALBERT with one group draws the same weights in every
  /// layer, so with the default gaussian input a 2-layer model equals the
  /// 1-layer model run twice, which differs from two independent layers.
  @Test func sharedLayersReuseOneLayer() throws {
    var shared = Self.small(.albertBase)
    shared.block.embeddingSize = nil
    var independent = shared
    independent.block.sharedLayerGroups = nil
    let a = DenseEngine().run(sample: 0, configuration: shared, seed: 4)
    let b = DenseEngine().run(sample: 0, configuration: independent, seed: 4)
    // Layer 1 uses the same streams (group 0 = layer 1); layer 2 differs.
    #expect(Self.bits(a[3])[1] == Self.bits(b[3])[1])
    #expect(Self.bits(a[3])[2] != Self.bits(b[3])[2])
    let weights = LayerWeights(modelDimension: 32, feedForwardDimension: 64)
    weights.draw(sample: 0, layer: 1, configuration: shared, seed: 4, includeMatrices: true, includeMLP: true)
    let first = weights.query
    let other = LayerWeights(modelDimension: 32, feedForwardDimension: 64)
    other.draw(sample: 0, layer: 2, configuration: shared, seed: 4, includeMatrices: true, includeMLP: true)
    #expect(other.query == first)
  }

  /// RoPE turns pair (j, j + r/2) of position i by i·θ^(−2j/r): position 0 is
  /// unchanged, and dot products depend only on the offset between positions.
  @Test func rotaryEmbeddingIsARelativeRotation() {
    var c = Self.small(.llama)
    c.sequenceLength = 5
    let table = RotaryTable(configuration: c)
    let dk = c.headDimension
    let row: [Float] = (0..<dk).map { Float($0 % 5) - 2 }
    let other: [Float] = (0..<dk).map { Float(($0 * 3) % 7) - 3 }
    var x = Array(repeating: row, count: 5).flatMap { $0 }
    var y = Array(repeating: other, count: 5).flatMap { $0 }
    x.withUnsafeMutableBufferPointer { table.apply(to: $0.baseAddress!, heads: 1) }
    y.withUnsafeMutableBufferPointer { table.apply(to: $0.baseAddress!, heads: 1) }
    #expect(Array(x[0..<dk]) == row)
    func dot(_ i: Int, _ j: Int) -> Double { (0..<dk).reduce(0.0) { $0 + Double(x[i * dk + $1]) * Double(y[j * dk + $1]) } }
    #expect(abs(dot(3, 1) - dot(2, 0)) < 1e-4 * abs(dot(2, 0)) + 1e-4)
    #expect(abs(dot(4, 2) - dot(2, 0)) < 1e-4 * abs(dot(2, 0)) + 1e-4)
  }

  /// Grouped-query heads widen K and V as HF's repeat_kv does.
  @Test func keyValueHeadsAreRepeatedPerGroup() {
    let x: [Float] = [1, 2, 3, 4]  // one row, two heads of width 2
    var widened = [Float](repeating: .nan, count: 8)
    widened.withUnsafeMutableBufferPointer { repeatingHeads(x, rows: 1, from: 2, to: 4, headWidth: 2, into: $0.baseAddress!) }
    #expect(widened == [1, 2, 1, 2, 3, 4, 3, 4])
  }

  @Test func rmsNormMatchesItsDefinition() {
    var x: [Float] = [3, 4, 0, 0, 1, -1]
    applyNorm(.rms, &x, rows: 2, columns: 3, gamma: [1, 2, 1], beta: nil, eps: 0)
    let r1 = Float((25.0 / 3).squareRoot()), r2 = Float((2.0 / 3).squareRoot())
    let expected: [Float] = [3 / r1, 8 / r1, 0, 0, 2 / r2, -1 / r2]
    for (a, b) in zip(x, expected) { #expect(abs(a - b) <= 2 * Float.ulpOfOne * abs(b)) }
  }

  /// Every preset runs on the dense engine at a small size with finite metrics.
  @Test(arguments: Architecture.allCases)
  func everyPresetRuns(_ architecture: Architecture) throws {
    var c = Self.small(architecture)
    c.input = .embeddings
    if architecture == .albertBase { c.block.embeddingSize = 8 }
    try c.validate()
    let result = DenseEngine().run(sample: 1, configuration: c, seed: 2)
    #expect(result.count == c.variants.count && result.allSatisfy { $0.count == c.layers + 1 })
    for variant in result { for layer in variant { #expect(layer[.nonFinite] == 0) } }
    // With the skip, the unmodified model keeps full rank at every layer.
    let unmodified = c.variants.firstIndex(of: c.unmodifiedVariant!)!
    #expect(result[unmodified].allSatisfy { $0[.rank] == Double(c.sequenceLength) })
  }
}
