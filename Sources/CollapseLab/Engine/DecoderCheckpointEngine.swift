import RankKernels

/// The dense forward pass of a trained Llama-family decoder from GGUF: X₀ the
/// embedding rows of the sample's token ids, then every variant (Dong's
/// surgeries for a pre-norm block) on the dequantised weights; states 0…L,
/// the last after the final RMSNorm for pre-norm variants (HF's last hidden
/// state). Single-threaded inside a sample.
public struct DecoderCheckpointEngine: ForwardEngine {
  public let checkpoint: LlamaGGUFCheckpoint
  public let input: DecoderTokenInput
  public var name: String { "dense" }

  public init(checkpoint: LlamaGGUFCheckpoint, input: DecoderTokenInput) {
    self.checkpoint = checkpoint
    self.input = input
  }

  /// The token ids sample `sample` runs on.
  public func tokens(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [Int32] {
    switch input {
    case .windows(let windows): windows[Int(sample % UInt64(windows.count))]
    case .randomTokens(let candidates): distinctRandomTokens(count: c.sequenceLength, from: candidates, sample: sample, seed: seed)
    }
  }

  public func run(sample: UInt64, configuration c: ModelConfiguration, seed: UInt64) -> [[MetricValues]] {
    let x0 = checkpoint.embed(tokens(sample: sample, configuration: c, seed: seed))
    return runEncoder(
      sample: sample, configuration: c, seed: seed, projectorUsesGram: false, input: x0,
      finalNorm: (checkpoint.finalNorm, nil)
    ) { layer in
      let weights = checkpoint.layers[layer - 1]
      return (weights, { _ in DenseProjector(weights: weights) })
    }
  }
}

/// A decoder's inputs: given windows of ids (`--token-ids FILE`, or a text's
/// windows), sample i using window i mod W; or n distinct ids drawn per
/// sample from the normal (non-control) vocabulary. No BOS: SmolLM2's GGUF
/// says its tokenizer adds none.
public enum DecoderTokenInput: Sendable {
  case windows([[Int32]])
  case randomTokens(candidates: [Int32])
}
