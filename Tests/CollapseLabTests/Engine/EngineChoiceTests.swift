@testable import CollapseLab
import Foundation
import Testing

@Suite("Default engine from the cost model")
struct EngineChoiceTests {
  private func configuration(n: Int) -> ModelConfiguration {
    var c = ModelConfiguration()
    c.sequenceLength = n
    return c
  }

  /// Measured (Tools/perf/engine-compare.sh and kernel-compare --engines,
  /// PERF.md): for BERT-base the Gram engine is faster up to n = 64, the
  /// sketch from 128 to 384 and the dense engine at 512; the model must pick
  /// accordingly and switch twice in between.
  @Test func picksTheMeasuredFasterEngine() {
    for n in [16, 32, 64] { #expect(defaultEngine(for: configuration(n: n)).name == "gram", "n = \(n)") }
    for n in [128, 256, 384] { #expect(defaultEngine(for: configuration(n: n)).name == "sketch", "n = \(n)") }
    #expect(defaultEngine(for: configuration(n: 512)).name == "dense")
    let choices = (16...768).map { defaultEngine(for: configuration(n: $0)).name }
    let switches = zip(choices, choices.dropFirst()).filter { $0 != $1 }.count
    #expect(switches == 2, "two crossovers between n = 16 and 768, got \(switches)")
  }

  @Test func uniformWeightsRunDenseAndSayWhy() {
    var c = configuration(n: 16)
    c.weightDistribution = .uniform
    let choice = defaultEngine(for: c)
    #expect(choice.name == "dense")
    #expect(choice.reason.contains("Gaussian"))
    #expect(defaultEngine(for: configuration(n: 16)).reason.hasPrefix("engine gram: estimated"))
    #expect(defaultEngine(for: configuration(n: 128)).reason.hasPrefix("engine sketch: estimated"))
    // Where the Gram engine's estimate leads by less than the margin and the
    // sketch is kept, the line says so: no engine is called "0.99× faster".
    for n in stride(from: 16, through: 768, by: 8) {
      let reason = defaultEngine(for: configuration(n: n)).reason
      if let range = reason.range(of: "× faster") {
        let factor = reason[..<range.lowerBound].split(separator: " ").last.flatMap { Double($0) }
        #expect((factor ?? 0) >= 1, "n = \(n): \(reason)")
      } else {
        #expect(reason.contains("within the 5 %"), "n = \(n): \(reason)")
      }
    }
    c = configuration(n: 16)
    c.input = .embeddings
    #expect(defaultEngine(for: c).reason.contains("gram is not exact here: the input embeddings"))
  }

  /// The FLOP counts behind the choice, against the closed forms at n = 128:
  /// the dense engine's products are 4·n·d² + 2·n²·d per variant and layer
  /// plus 2·n·d·d_ff per MLP layer; it draws each layer's weights once.
  @Test func denseWorkMatchesClosedForm() {
    let c = configuration(n: 128)
    let work = SampleWork(engine: .dense, configuration: c)
    let (n, d, f, layers) = (128.0, 768.0, 3072.0, 12.0)
    let variants = Double(c.variants.count), mlpVariants = Double(c.variants.filter(\.mlp).count)
    #expect(work.float32MultiplyAdds == layers * (variants * (4 * n * d * d + 2 * n * n * d) + mlpVariants * 2 * n * d * f))
    #expect(work.randomNumbers == n * d + layers * (4 * d * d + 2 * d * f))
    #expect(work.float64FLOPs > 0 && work.limitSeconds(sgemmFLOPRate: 1e11) > 0)
  }
}

@Suite("Engine kinds keep their recorded names")
struct EngineKindTests {
  /// state.json and summary.json record the raw values; files written before
  /// the enum (plain strings) must still resume and merge.
  @Test(arguments: EngineKind.allCases)
  func rawValuesAreTheRecordedNames(kind: EngineKind) throws {
    let encoded = try JSONEncoder().encode([kind])
    #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(kind.rawValue)\"]")
    #expect(try JSONDecoder().decode([EngineKind].self, from: Data("[\"\(kind.rawValue)\"]".utf8)) == [kind])
    #expect((kind.makeRandomModelEngine()?.kind ?? .measure) == kind)
  }
}
