@testable import CollapseLab
import Foundation
import RankKernels
import Testing

/// A Float64 BERT forward pass written out plainly from HF's definition,
/// on the stored ([out, in]) tensors: the engine's independent reference.
private struct ReferenceBert {
  let tensors: [String: [Double]]
  let c: BertConfiguration

  init(_ tiny: TinyCheckpoint) {
    var t: [String: [Double]] = [:]
    for (tensor, _, values) in tiny.tensors() { t[tensor.name] = values.map(Double.init) }
    tensors = t
    c = tiny.configuration
  }

  func t(_ name: String) -> [Double] { tensors[name]! }

  /// y = x·Wᵀ + b with W stored [out × in].
  func linear(_ x: [[Double]], _ name: String) -> [[Double]] {
    let w = t(name + ".weight"), b = t(name + ".bias"), outs = b.count, ins = x[0].count
    return x.map { (row: [Double]) -> [Double] in
      (0..<outs).map { (o: Int) -> Double in
        var sum = b[o]
        for i in 0..<ins { sum += row[i] * w[o * ins + i] }
        return sum
      }
    }
  }

  func layerNorm(_ x: [[Double]], _ name: String) -> [[Double]] {
    let g = t(name + ".weight"), b = t(name + ".bias")
    return x.map { row in
      let mean = row.reduce(0, +) / Double(row.count)
      let variance = row.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)
      return row.indices.map { (row[$0] - mean) / (variance + Double(c.layerNormEpsilon)).squareRoot() * g[$0] + b[$0] }
    }
  }

  func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] { zip(a, b).map { zip($0, $1).map(+) } }

  func attention(_ x: [[Double]], layer l: Int) -> [[Double]] {
    let p = "encoder.layer.\(l).attention."
    let q = linear(x, p + "self.query"), k = linear(x, p + "self.key"), v = linear(x, p + "self.value")
    let n = x.count, dk = c.headDimension
    var context = [[Double]](repeating: [Double](repeating: 0, count: c.hiddenSize), count: n)
    for h in 0..<c.heads {
      let cols = (h * dk)..<((h + 1) * dk)
      for i in 0..<n {
        let scores = (0..<n).map { j in cols.reduce(0.0) { $0 + q[i][$1] * k[j][$1] } / Double(dk).squareRoot() }
        let top = scores.max()!
        let weights = scores.map { Foundation.exp($0 - top) }, total = weights.reduce(0, +)
        for col in cols { context[i][col] = (0..<n).reduce(0.0) { $0 + weights[$1] / total * v[$1][col] } }
      }
    }
    return linear(context, p + "output.dense")
  }

  /// States 0…L of a post-LN variant on token ids.
  func states(_ ids: [Int32], variant: Variant) -> [[[Double]]] {
    let d = c.hiddenSize
    let word = t("embeddings.word_embeddings.weight"), position = t("embeddings.position_embeddings.weight")
    let type = t("embeddings.token_type_embeddings.weight")
    var x = ids.enumerated().map { i, id in (0..<d).map { word[Int(id) * d + $0] + type[$0] + position[i * d + $0] } }
    x = layerNorm(x, "embeddings.LayerNorm")
    var result = [x]
    for l in 0..<c.layers {
      var h = attention(x, layer: l)
      if variant.attentionResidual { h = add(h, x) }
      h = layerNorm(h, "encoder.layer.\(l).attention.output.LayerNorm")
      if variant.mlp {
        let inner = linear(h, "encoder.layer.\(l).intermediate.dense").map { $0.map { 0.5 * $0 * Foundation.erfc(-$0 / 2.0.squareRoot()) } }
        var f = linear(inner, "encoder.layer.\(l).output.dense")
        if variant.feedForwardResidual { f = add(f, h) }
        h = layerNorm(f, "encoder.layer.\(l).output.LayerNorm")
      }
      x = h
      result.append(x)
    }
    return result
  }
}

@Suite("Trained-checkpoint engine", .temporaryDirectories)
struct CheckpointEngineTests {
  let tiny = TinyCheckpoint()
  let text = "the dog is cute . a cat sat on the mat . the cat is cute , the dog sat . want low lowest unwanted running the mat ."

  private func setUp(perturbation: Double = 0, sequenceLength: Int = 8) throws -> (ModelConfiguration, CheckpointEngine) {
    let checkpoint = try BertCheckpoint(directory: tiny.write(to: temporaryDirectory("engine")))
    let windows = try checkpoint.tokenizer.windows(of: text, sequenceLength: sequenceLength, source: "text")
    var c = ModelConfiguration(architecture: checkpoint.configuration, sequenceLength: sequenceLength)
    c.input = .text
    c.variants = Variant.dongSurgeries
    c.checkpoint = CheckpointSource(
      directory: "tiny", name: checkpoint.name, modelSHA256: checkpoint.modelSHA256, perturbation: perturbation,
      textSHA256: "t", windowCount: windows.count)
    try c.validate()
    return (c, CheckpointEngine(checkpoint: checkpoint, input: .windows(windows)))
  }

  /// The engine's metrics of every surgery and state agree with a plain
  /// Float64 forward pass: residual ratios to 1e-4 (Float32 round-off through
  /// two layers of a d = 16 model is ~1e-6), ranks exactly.
  @Test func surgeriesMatchAPlainFloat64Forward() throws {
    let (c, engine) = try setUp()
    let reference = ReferenceBert(tiny)
    for sample in 0..<3 as Range<UInt64> {
      let ids = engine.tokens(sample: sample, configuration: c, seed: 0)
      let results = engine.run(sample: sample, configuration: c, seed: 0)
      for (v, variant) in c.variants.enumerated() {
        for (layer, state) in reference.states(ids, variant: variant).enumerated() {
          let flat = state.flatMap { $0.map(Float.init) }
          let expected = flat.withUnsafeBufferPointer {
            measure($0.baseAddress!, rows: c.sequenceLength, columns: c.modelDimension, attentionEntropy: .nan, rankMethod: .exact)
          }
          let got = results[v][layer]
          #expect(abs(got[.residualRatio] - expected[.residualRatio]) < 1e-4, "\(variant) layer \(layer)")
          #expect(abs(got[.meanAbsCosine] - expected[.meanAbsCosine]) < 1e-4, "\(variant) layer \(layer)")
          #expect(abs(got[.sigmaMax] - expected[.sigmaMax]) < 1e-4 * expected[.sigmaMax], "\(variant) layer \(layer)")
        }
      }
    }
  }

  /// Equal to the last bit, NaN (layer 0's attention entropy) included.
  private func same(_ a: [[MetricValues]], _ b: [[MetricValues]]) -> Bool {
    a.map { $0.map { $0.values.map(\.bitPattern) } } == b.map { $0.map { $0.values.map(\.bitPattern) } }
  }

  @Test func perturbationZeroIsTheCheckpointAndOtherSizesAreReproducible() throws {
    let (plain, engine) = try setUp()
    var zero = plain
    zero.checkpoint!.perturbation = 0
    #expect(same(engine.run(sample: 1, configuration: zero, seed: 4), engine.run(sample: 1, configuration: plain, seed: 9)))
    var noisy = plain
    noisy.checkpoint!.perturbation = 0.05
    let a = engine.run(sample: 1, configuration: noisy, seed: 4)
    #expect(same(a, engine.run(sample: 1, configuration: noisy, seed: 4)))
    #expect(!same(a, engine.run(sample: 1, configuration: noisy, seed: 5)))
    #expect(!same(a, engine.run(sample: 1, configuration: plain, seed: 4)))
    // Small noise moves the metrics a little, not arbitrarily.
    let base = engine.run(sample: 1, configuration: plain, seed: 4)
    #expect(abs(a[3][2][.residualRatio] - base[3][2][.residualRatio]) < 0.1)
  }

  @Test func perturbedRunsAreIdenticalWhateverThreadsAndShards() throws {
    let (c0, engine) = try setUp(perturbation: 0.1)
    let identity = RunIdentity(configuration: c0, seed: 2, samples: 40, engine: .dense, blockSize: 16)
    var options = ExecutionOptions()
    options.threads = 1
    let whole = try MonteCarloRun(identity: identity, engine: engine).run(options: options).state
    options.threads = 3
    #expect(try MonteCarloRun(identity: identity, engine: engine).run(options: options).state.tallies == whole.tallies)
    var directories: [URL] = []
    for k in 0..<2 {
      var shardOptions = ExecutionOptions()
      shardOptions.outputDirectory = temporaryDirectory("ckpt-shard\(k)")
      _ = try MonteCarloRun(identity: identity, shard: Shard(index: k, count: 2), engine: engine).run(options: shardOptions)
      directories.append(shardOptions.outputDirectory!)
    }
    let merged = try mergeResults(from: directories)
    #expect(Summary(state: merged).moments == Summary(state: whole).moments)
    // Another perturbation size or checkpoint is refused on merge and resume.
    var other = identity
    other.configuration.checkpoint!.perturbation = 0.2
    #expect(other.mismatch(with: identity)?.contains("perturbation differs") == true)
    other = identity
    other.configuration.checkpoint!.modelSHA256 = "0000"
    #expect(other.mismatch(with: identity)?.contains("checkpoint differs") == true)
    other = identity
    other.configuration.checkpoint!.textSHA256 = "other"
    #expect(other.mismatch(with: identity)?.contains("text differs") == true)
    other = identity
    other.configuration.checkpoint!.directory = "/elsewhere/tiny"
    #expect(other.mismatch(with: identity) == nil)  // paths are informational
  }

  @Test func checkpointsRefuseVariantsTheyCannotDefine() throws {
    var (c, _) = try setUp()
    c.variants = [try Variant(parsing: "attn+res+preln+mlp")]
    #expect { try c.validate() } throws: { ($0 as? ConfigurationError)?.description.contains("the checkpoint's norms sit in the post position") == true }
    c.variants = [try Variant(parsing: "attn+res+ln+mlp+pgop")]
    #expect { try c.validate() } throws: { ($0 as? ConfigurationError)?.description.contains("do not exist in a trained checkpoint") == true }
  }
}
