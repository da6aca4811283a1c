@testable import CollapseLab
import Foundation
import RankKernels
import Testing

@Suite("BERT checkpoint loading", .temporaryDirectories)
struct BertCheckpointTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var naming: NamingScheme
    var dataType: TensorDataType
    var testDescription: String { "\(naming) \(dataType.rawValue)" }
  }
  static let cases = NamingScheme.allCases.flatMap { n in [TensorDataType.f32, .f16, .bf16].map { Case(naming: n, dataType: $0) } }

  /// Every tensor arrives as stored (matrices transposed to [in × out]),
  /// whatever the naming scheme and dtype; pooler and cls heads are ignored.
  @Test(arguments: cases)
  func loadsEveryTensorAsStored(_ test: Case) throws {
    let tiny = TinyCheckpoint(naming: test.naming, dataType: test.dataType)
    let checkpoint = try BertCheckpoint(directory: tiny.write(to: temporaryDirectory("ckpt")))
    #expect(checkpoint.configuration == tiny.configuration)
    #expect(checkpoint.unusedTensors.isEmpty)
    #expect(checkpoint.name == "tiny-bert")
    #expect(checkpoint.modelSHA256.count == 64)
    let p = checkpoint.parameters
    for (tensor, shape, values) in tiny.tensors() {
      let held: [Float]
      switch tensor {
      case .embedding(let t): held = p.embeddings[keyPath: t.keyPath]
      case .layer(let l, let t):
        held = t.isMatrix ? transposed(p.layers[l][keyPath: t.keyPath], rows: shape[1], columns: shape[0]) : p.layers[l][keyPath: t.keyPath]
      }
      #expect(held == values, "\(tensor.name)")
      #expect(abs(p.rootMeanSquares[tensor.index] - rootMeanSquare(values)) == 0)
    }
  }

  @Test func shardedIndexLoadsTheSameWeights() throws {
    let tiny = TinyCheckpoint()
    let single = try BertCheckpoint(directory: tiny.write(to: temporaryDirectory("single")))
    let directory = temporaryDirectory("sharded")
    try tiny.write(to: directory)
    try FileManager.default.removeItem(at: directory.appendingPathComponent("model.safetensors"))
    let all = tiny.tensors()
    var weightMap: [String: String] = [:]
    for (part, slice) in [all[..<20], all[20...]].enumerated() {
      let file = "model-0000\(part + 1)-of-00002.safetensors"
      let tensors = slice.map { TensorToWrite(name: $0.0.name, dataType: .f32, shape: $0.1, values: $0.2) }
      try Data(safetensorsBytes(tensors)).write(to: directory.appendingPathComponent(file))
      for t in tensors { weightMap[t.name] = file }
    }
    try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap])
      .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
    let sharded = try BertCheckpoint(directory: directory)
    #expect(sharded.parameters.layers.map(\.query) == single.parameters.layers.map(\.query))
    #expect(sharded.parameters.embeddings.word == single.parameters.embeddings.word)
    #expect(sharded.modelSHA256.split(separator: ",").count == 2)
  }

  private func expectRefusal(_ directory: URL, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
      _ = try BertCheckpoint(directory: directory)
      Issue.record("accepted \(directory.path)", sourceLocation: sourceLocation)
    } catch {
      for fragment in fragments {
        #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
      }
      #expect(!error.description.contains("\n"), "one line", sourceLocation: sourceLocation)
    }
  }

  @Test func badDirectoriesAreRefusedWithOneLineNamingTheProblem() throws {
    let tiny = TinyCheckpoint()
    expectRefusal(URL(fileURLWithPath: "/nonexistent/model"), ["/nonexistent/model", "no such directory"])

    let gpt = try tiny.write(to: temporaryDirectory("gpt"))
    try Data(tiny.configJSON(modelType: "gpt2").utf8).write(to: gpt.appendingPathComponent("config.json"))
    expectRefusal(gpt, ["model_type 'gpt2' is not BERT", "TrainedTransformer(huggingFaceDirectory:)"])

    let legacy = try tiny.write(to: temporaryDirectory("legacy"))
    try FileManager.default.removeItem(at: legacy.appendingPathComponent("model.safetensors"))
    try Data([0]).write(to: legacy.appendingPathComponent("pytorch_model.bin"))
    expectRefusal(legacy, ["only pytorch_model.bin", "convert"])

    var deeper = tiny
    deeper.configuration.layers = 3
    let missing = try tiny.write(to: temporaryDirectory("missing"))
    try Data(deeper.configJSON().utf8).write(to: missing.appendingPathComponent("config.json"))
    expectRefusal(missing, ["no tensor 'encoder.layer.2.attention.self.query.weight'", "num_hidden_layers 3"])

    var wider = tiny
    wider.configuration.intermediateSize = 48
    let shape = try tiny.write(to: temporaryDirectory("shape"))
    try Data(wider.configJSON().utf8).write(to: shape.appendingPathComponent("config.json"))
    expectRefusal(shape, ["'encoder.layer.0.intermediate.dense.weight' has shape [32, 16]", "intermediate_size 48", "needs [48, 16]"])

    let truncated = try tiny.write(to: temporaryDirectory("truncated"))
    let url = truncated.appendingPathComponent("model.safetensors")
    try Data(contentsOf: url).prefix(1000).write(to: url)
    expectRefusal(truncated, ["model.safetensors", "truncated"])

    let vocabulary = try tiny.write(to: temporaryDirectory("vocab"))
    try Data("[UNK]\n[CLS]\n[SEP]\n".utf8).write(to: vocabulary.appendingPathComponent("vocab.txt"))
    expectRefusal(vocabulary, ["vocab.txt: 3 pieces", "vocab_size 26"])
  }
}
