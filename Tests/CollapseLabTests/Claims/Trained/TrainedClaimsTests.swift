@testable import CollapseLab
import Foundation
import RankKernels
import Testing

@Suite("Claims report on a trained checkpoint", .temporaryDirectories)
struct TrainedClaimsTests {
  let text = "the dog is cute . a cat sat on the mat . the cat is cute , the dog sat . want low lowest unwanted running the mat . the dog sat on the cat"

  @Test func huggingFaceInitialisationMatchesFromConfig() throws {
    let c = TinyCheckpoint().configuration
    let p = BertParameters.huggingFaceInitialisation(c, seed: 3)
    #expect(p.embeddings.word.prefix(c.hiddenSize).allSatisfy { $0 == 0 })  // padding row
    #expect(p.embeddings.normGamma.allSatisfy { $0 == 1 } && p.embeddings.normBeta.allSatisfy { $0 == 0 })
    for layer in p.layers {
      #expect(layer.queryBias.allSatisfy { $0 == 0 } && layer.feedForwardInBias.allSatisfy { $0 == 0 })
      #expect(layer.attentionNormGamma.allSatisfy { $0 == 1 } && layer.outputNormBeta.allSatisfy { $0 == 0 })
    }
    // Every weight entry is N(0, 0.02²): the sample rms of the 6·L matrices
    // (N ≈ 6000 entries) is within 5 standard errors (0.02·5/√(2N)) of 0.02.
    var entries: [Float] = []
    for layer in p.layers {
      for matrix in [layer.query, layer.key, layer.value, layer.output, layer.feedForwardIn, layer.feedForwardOut] { entries += matrix }
    }
    let rms = rootMeanSquare(entries)
    let standardError: Double = 0.02 * 5 / (2 * Double(entries.count)).squareRoot()
    #expect(abs(rms - 0.02) < standardError)
    let again = BertParameters.huggingFaceInitialisation(c, seed: 3), other = BertParameters.huggingFaceInitialisation(c, seed: 4)
    #expect(again.layers[1].key == p.layers[1].key && other.layers[1].key != p.layers[1].key)
  }

  @Test func everySectionIsWrittenWithTheFigure() throws {
    let checkpoint = try BertCheckpoint(directory: TinyCheckpoint().write(to: temporaryDirectory("claims")))
    let setup = try TrainedClaimsSetup(
      checkpoint: checkpoint, text: text, textPath: "tiny.txt", sequenceLength: 8, windows: nil, perturbation: 0.01,
      perturbationSamples: 4, seed: 1)
    #expect(setup.sequences.count >= 4 && setup.sequences.allSatisfy { $0.count == 8 })
    // Claims 4 and 7 run the random-initialisation experiments at BERT-base (minutes in debug): checked in CI.
    let sections = setup.sections(only: [1, 2, 3, 5, 6, 8], randomInit: ClaimRunOptions(samples: 1, denseSamples: 1, seed: 1))
    #expect(sections.map(\.number) == [1, 2, 3, 5, 6, 8])
    for section in sections {
      #expect(section.findings.contains { $0.contains("| trained |") || $0.contains("trained, ") }, "claim \(section.number) reports the checkpoint")
      #expect(section.findings.contains { $0.contains("HF init") }, "claim \(section.number) reports the initialisation")
      #expect(section.command.contains("--only \(section.number)"))
    }
    let residual = sections.first { $0.number == 3 }!
    #expect(residual.findings.contains { $0.contains("trained + 0.01·rms(T)·G, 4 samples") })
    let figure = residual.attachments.first { $0.name == "dong-figure2.svg" }!.contents
    #expect(figure.components(separatedBy: "<polygon").count - 1 == 8)  // a band per surgery and panel
    #expect(figure.contains("1 % and 99 % quantiles") && figure.contains(checkpoint.name))
    let header = setup.reportHeader
    #expect(header.contains(checkpoint.modelSHA256) && header.contains("used exactly as stored") && header.contains("tiny.txt"))
    let directory = temporaryDirectory("claims-report")
    try writeClaimsReport(sections, header: header, to: directory)
    #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("dong-figure2.svg").path))
    #expect(throws: ConfigurationError.self) { try writeClaimsReport(sections, header: header, to: directory) }
  }

  @Test func spreadIsMeanDeviationAndNearestRankQuantiles() {
    let values = (1...100).map(Double.init) + [.nan]
    let s = spread(values)
    #expect(s.mean == 50.5 && s.p1 == 1 && s.p99 == 99)
    #expect(abs(s.standardDeviation - 29.011491975882016) < 1e-12)
  }
}
