import ArgumentParser
import CollapseLab
import Foundation

extension MCGeneric {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one sample's random weights and input as a Hugging Face model directory of its architecture.",
      discussion: """
        config.json and model.safetensors in the model's own tensor names and layouts, and inputs.safetensors \
        with inputs_embeds [1, n, E]: AutoModel.from_pretrained(DIR)(inputs_embeds=…, output_hidden_states=True) \
        then runs the network that `mc-generic --engine dense --input embeddings --seed S` ran as its sample \
        --sample (the unmodified variant). Tools/hf-architectures/check.py compares the two.
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The sample index whose weights and input are written.") var sample: UInt64 = 0
    @Option(help: "Seed of the counter-based RNG (as in the run).") var seed: UInt64 = 0
    @Option(help: "The directory to write (created; must not hold a config.json).") var output: String

    func run() throws {
      if model.model != nil { throw RunError("export writes sampled random weights; --model cannot be used with it") }
      let configuration = try model.makeConfiguration(defaultInput: .embeddings)
      let export = try wrapped { try HuggingFaceExport(configuration: configuration, sample: sample, seed: seed) }
      try wrapped { try export.write(to: URL(fileURLWithPath: output)) }
      print("wrote \(output)/config.json, model.safetensors, inputs.safetensors (\(configuration.architecture.huggingFaceModelType), sample \(sample), seed \(seed))")
    }
  }
}
