import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

/// The model, its inputs and the rank options. The architecture options are
/// optional so that a trained checkpoint (`--model`, whose config.json
/// decides them) can refuse them instead of ignoring them.
struct ModelOptions: ParsableArguments {
  @Option(help: "A Hugging Face directory (config.json, safetensors weights) of model_type bert, albert, gpt2, gpt_neox or llama, or a .gguf file of architecture llama (SmolLM2, TinyLlama) or gpt2: run on its trained weights.")
  var model: String?
  @Option(help: "With --model: a UTF-8 text file, tokenized and cut into windows of seq-len tokens ([CLS] … [SEP]); sample i uses window i.")
  var text: String?
  @Option(name: .customLong("token-ids"), help: "With --model: a JSON-lines file, one array of --seq-len token ids per line (used as given, no special tokens added); sample i uses window i. The way in for tokenizers this package does not implement.")
  var tokenIDs: String?
  @Option(help: "With --model: each sample perturbs every tensor T to T + EPS·rms(T)·G, G ~ N(0, 1) (default 0: the checkpoint itself).")
  var perturb: Double?
  @Option(help: "Preset: bert-base (default), albert-base, gpt2, llama (SmolLM2-135M's shape) or pythia (Pythia-160M's shape): widths, block and Hugging Face initialisation. Every option below overrides its field.")
  var architecture: Architecture?
  @Option(help: "Layers L (default: the preset's, 12 for bert-base).") var layers: Int?
  @Option(name: .customLong("d-model"), help: "Model width d (default: the preset's, 768).") var dModel: Int?
  @Option(help: "Attention heads H, d divisible by H (default: the preset's, 12).") var heads: Int?
  @Option(name: .customLong("d-ff"), help: "Feed-forward width (default: the preset's, 3072).") var dFF: Int?
  @Option(name: .customLong("kv-heads"), help: "Key/value heads for grouped-query attention; must divide --heads (default: as many as --heads; llama 3).")
  var kvHeads: Int?
  @Option(help: "Attention mask: bidirectional, causal or window:W (keys i-W < j <= i).") var mask: String?
  @Option(help: "Norm kind: layer (LayerNorm) or rms (RMSNorm).") var norm: NormKind?
  @Option(name: .customLong("norm-position"), help: "Where the unmodified block's norms sit: post (BERT), pre (GPT-2, Llama) or parallel (GPT-NeoX); sets the default variants to Dong's surgeries there.")
  var normPosition: NormPosition?
  @Option(name: .customLong("final-norm"), help: "Norm after the last block of pre/parallel variants: none, layer or rms.")
  var finalNorm: FinalNormArgument?
  @Option(help: "MLP: gelu (erf), gelu-tanh, relu or swiglu.") var mlp: MLPActivationArgument?
  @Option(help: "Positions: none, learned (the embedding layer's table, --input embeddings) or rope.") var positions: PositionEncoding?
  @Option(name: .customLong("rope-theta"), help: "RoPE base θ (default 10000; llama 100000).") var ropeTheta: Double?
  @Option(name: .customLong("rope-fraction"), help: "Fraction of each head RoPE rotates, in (0, 1] (default 1; pythia 0.25).")
  var ropeFraction: Double?
  @Option(name: .customLong("shared-layers"), help: "Layer groups sharing weights (ALBERT: 1, the same layer L times); must divide --layers.")
  var sharedLayers: Int?
  @Option(name: .customLong("embedding-size"), help: "Embedding width E, projected to d by the embedding layer (ALBERT 128; --input embeddings).")
  var embeddingSize: Int?
  @Flag(inversion: .prefixedNo, help: "Whether linear maps have biases (zero unless --random-biases; llama has none).")
  var biases: Bool?
  @Option(name: .customLong("seq-len"), help: "Tokens per sequence n (default 16).") var seqLen = 16
  @Option(help: "Comma-separated variants: attn plus any of res (or res-attn, res-mlp), ln, preln, mlp, pgop joined by '+' (default attn,attn+res,attn+res+ln,attn+res+ln+mlp; with --model Dong's surgeries attn+ln,attn+ln+mlp+res-mlp,attn+res+ln,attn+res+ln+mlp).")
  var variants: String?
  @Option(help: "Standard deviation of weight entries (default 0.02).") var sigma: Float?
  @Option(name: .customLong("weight-distribution"), help: "gaussian or uniform, same variance (default gaussian).")
  var weightDistribution: WeightDistribution?
  @Flag(name: .customLong("random-biases"), help: "Draw biases from N(0, sigma²) instead of 0.") var randomBiases = false
  @Flag(name: .customLong("random-layernorm"), help: "Draw LayerNorm gamma = 1 + N(0, sigma²), beta = N(0, sigma²).")
  var randomLayerNorm = false
  @Option(help: "Input tokens: gaussian (N(0,1) hidden states, the default), embeddings (the architecture's embedding layer at initialisation) or bert-embeddings (BERT's, σ = 0.02); random-tokens (with --model, the default without --text).")
  var input: InputKind?
  @Option(name: .customLong("input-rank"), help: "Use an exactly rank-r Gaussian input instead.") var inputRank: Int?
  @Option(name: .customLong("ln-eps"), help: "Norm epsilon (default: the preset's, 1e-12 for bert-base).") var lnEps: Float?
  @Flag(name: .customLong("attention-spectra"), help: "Also measure attention_spectral_gap (σ₁ − σ₂ of each head's attention matrix) and attention_sink_mass (attention to the first token); about 1.5× the time at n = 16.")
  var attentionSpectra = false
  @Option(name: .customLong("rank-tolerance"), help: "Rank counts σ > factor·σ₁·max(n,d)·ε_f32; this is the factor.")
  var rankTolerance: Double = 1

  /// The options that config.json decides, as given on the command line.
  var optionsDecidedByCheckpoint: [String] {
    var given: [String] = []
    if layers != nil { given.append("--layers") }
    if dModel != nil { given.append("--d-model") }
    if heads != nil { given.append("--heads") }
    if dFF != nil { given.append("--d-ff") }
    if lnEps != nil { given.append("--ln-eps") }
    if sigma != nil { given.append("--sigma") }
    if weightDistribution != nil { given.append("--weight-distribution") }
    if randomBiases { given.append("--random-biases") }
    if randomLayerNorm { given.append("--random-layernorm") }
    if inputRank != nil { given.append("--input-rank") }
    let block: [(String, Bool)] = [
      ("--architecture", architecture != nil), ("--kv-heads", kvHeads != nil), ("--mask", mask != nil), ("--norm", norm != nil),
      ("--norm-position", normPosition != nil), ("--final-norm", finalNorm != nil), ("--mlp", mlp != nil),
      ("--positions", positions != nil), ("--rope-theta", ropeTheta != nil), ("--rope-fraction", ropeFraction != nil),
      ("--shared-layers", sharedLayers != nil), ("--embedding-size", embeddingSize != nil), ("--[no-]biases", biases != nil),
    ]
    given += block.filter(\.1).map(\.0)
    return given
  }

  /// A random-weight configuration (no --model).
  func makeConfiguration(defaultInput: InputKind = .gaussian) throws -> ModelConfiguration {
    if model == nil {
      if text != nil { throw RunError("--text needs --model DIR (a trained checkpoint's tokenizer and embeddings)") }
      if perturb != nil { throw RunError("--perturb needs --model DIR (it perturbs a trained checkpoint's weights)") }
      if tokenIDs != nil { throw RunError("--token-ids needs --model (a trained checkpoint's embeddings)") }
    }
    var c = try presetConfiguration()
    if let layers { c.layers = layers }
    if let dModel { c.modelDimension = dModel }
    if let heads { c.heads = heads }
    if let dFF { c.feedForwardDimension = dFF }
    if let lnEps { c.layerNormEpsilon = lnEps }
    c.sequenceLength = seqLen; c.weightScale = sigma ?? 0.02
    c.randomBiases = randomBiases; c.randomLayerNormAffine = randomLayerNorm
    c.inputRank = inputRank; c.rankToleranceFactor = rankTolerance; c.attentionSpectra = attentionSpectra
    c.weightDistribution = weightDistribution ?? .gaussian
    let inputKind = input ?? defaultInput
    if inputKind.needsCheckpoint {
      throw RunError("--input \(inputKind.rawValue) needs --model (a trained checkpoint's vocabulary and embeddings); without it: gaussian, embeddings or bert-embeddings")
    }
    c.input = inputKind
    if embeddingSize != nil && inputKind != .embeddings {
      throw RunError("--embedding-size acts in the embedding layer, which only --input embeddings runs (got --input \(inputKind.rawValue))")
    }
    try wrapped {
      if let variants { c.variants = try Variant.parseList(variants) }
      try c.validate()
    }
    return c
  }

  /// The preset named by --architecture with every block option applied.
  func presetConfiguration() throws -> ModelConfiguration {
    var c = (architecture ?? .bertBase).configuration
    if let kvHeads { c.block.keyValueHeads = kvHeads }
    if let mask { c.block.mask = try wrapped { try AttentionMask(parsing: mask) } }
    if let norm { c.block.normKind = norm }
    if let position = normPosition {
      c.block.normPosition = position
      c.variants = Variant.dongSurgeries(normPosition: position)
    }
    if let finalNorm { c.block.finalNorm = finalNorm.kind }
    if let mlp { c.activation = mlp.activation }
    if let positions { c.block.positions = positions }
    if let ropeTheta { c.block.ropeTheta = ropeTheta }
    if let ropeFraction { c.block.rotaryFraction = ropeFraction }
    if let sharedLayers { c.block.sharedLayerGroups = sharedLayers }
    if let embeddingSize { c.block.embeddingSize = embeddingSize }
    if let biases { c.block.biases = biases }
    return c
  }

  /// A trained checkpoint's configuration and engine (--model DIR or FILE.gguf).
  func makeCheckpointRun(seed: UInt64) throws -> (ModelConfiguration, any ForwardEngine, windowCount: Int?, notes: [String]) {
    guard let model else { preconditionFailure("makeCheckpointRun needs --model") }
    let decided = optionsDecidedByCheckpoint
    if !decided.isEmpty {
      throw RunError("\(decided.joined(separator: ", ")) cannot be used with --model: \(model) decides the architecture and the weights are the checkpoint's")
    }
    if text != nil && tokenIDs != nil { throw RunError("--text and --token-ids both give the inputs; choose one") }
    if model.hasSuffix(".gguf") || TrainedTransformer.huggingFaceModelTypes.contains(huggingFaceModelType(in: URL(fileURLWithPath: model)) ?? "") {
      return try makeTrainedRun(seed: seed)
    }
    let started = ContinuousClock.now
    let checkpoint = try wrapped { try BertCheckpoint(directory: URL(fileURLWithPath: model)) }
    let loadSeconds = started.duration(to: .now)
    let b = checkpoint.configuration
    if seqLen > b.maxPositions {
      throw RunError("--seq-len \(seqLen) exceeds the checkpoint's max_position_embeddings \(b.maxPositions) (\(model)/config.json)")
    }
    var c = ModelConfiguration(architecture: b, sequenceLength: seqLen)
    c.rankToleranceFactor = rankTolerance
    c.attentionSpectra = attentionSpectra
    var source = CheckpointSource(
      directory: model, name: checkpoint.name, modelSHA256: checkpoint.modelSHA256, perturbation: perturb ?? 0)
    let tokenInput: TokenInput
    try checkInputAgainstFiles()
    if let tokenIDs {
      tokenInput = .windows(try readTokenIDs(tokenIDs, vocabularySize: checkpoint.tokenizer.pieces.count, into: &source, &c))
    } else if let text {
      let (data, contents) = try readTextFile(text)
      let windows = try wrapped { try checkpoint.tokenizer.windows(of: contents, sequenceLength: seqLen, source: text) }
      source.textPath = text
      source.textSHA256 = sha256Hex(of: data)
      source.windowCount = windows.count
      c.input = .text
      tokenInput = .windows(windows)
    } else {
      let candidates = checkpoint.tokenizer.nonSpecialIDs
      if seqLen - 2 > candidates.count {
        throw RunError("--seq-len \(seqLen) needs \(seqLen - 2) distinct tokens, but the vocabulary has \(candidates.count) non-special ones")
      }
      c.input = .randomTokens
      tokenInput = .randomTokens(candidates: candidates)
    }
    c.checkpoint = source
    try wrapped {
      c.variants = try Variant.parseList(variants ?? Variant.dongSurgeries.map(\.description).joined(separator: ","))
      try c.validate()
    }
    var notes: [String] = []
    if !checkpoint.unusedTensors.isEmpty {
      let list = checkpoint.unusedTensors.prefix(5).joined(separator: ", ")
      notes.append("mc-generic: warning: \(checkpoint.unusedTensors.count) tensors of \(model) are not part of a BERT encoder and are not used: \(list)\(checkpoint.unusedTensors.count > 5 ? ", …" : "")")
    }
    let seconds = Double(loadSeconds.components.seconds) + Double(loadSeconds.components.attoseconds) * 1e-18
    notes.append("mc-generic: loaded \(checkpoint.name) from \(model) in \(String(format: "%.2f", seconds)) s (L=\(b.layers), d=\(b.hiddenSize), H=\(b.heads), d_ff=\(b.intermediateSize), \(b.activation.rawValue); weights as stored, no LayerNorm folding)")
    return (c, CheckpointEngine(checkpoint: checkpoint, input: tokenInput), source.windowCount, notes)
  }

  /// The windows of a --token-ids file, recorded in the run's source (path,
  /// SHA-256, window count) and input kind.
  private func readTokenIDs(
    _ path: String, vocabularySize: Int, into source: inout CheckpointSource, _ c: inout ModelConfiguration
  ) throws -> [[Int32]] {
    let data = try readInputFile(path, option: "--token-ids")
    let windows = try wrapped { try tokenIDWindows(data, source: path, sequenceLength: seqLen, vocabularySize: vocabularySize) }
    source.textPath = path
    source.textSHA256 = sha256Hex(of: data)
    source.windowCount = windows.count
    c.input = .tokenIDs
    return windows
  }

  /// --input with --model must agree with --text/--token-ids (or be random-tokens without them).
  private func checkInputAgainstFiles() throws {
    let implied: InputKind = text != nil ? .text : tokenIDs != nil ? .tokenIDs : .randomTokens
    if let input, input != implied {
      throw RunError(implied == .randomTokens
        ? "--input with --model must be random-tokens (or give --text FILE or --token-ids FILE), got '\(input.rawValue)'"
        : "--input '\(input.rawValue)' contradicts --\(implied.rawValue) (its windows are the input); drop --input")
    }
  }

  /// A trained GPT-2, Llama, GPT-NeoX or ALBERT model (HF directory or GGUF file).
  func makeTrainedRun(seed: UInt64) throws -> (ModelConfiguration, any ForwardEngine, windowCount: Int?, notes: [String]) {
    let model = self.model!
    try checkInputAgainstFiles()
    if let perturb, !(perturb >= 0 && perturb.isFinite) { throw RunError("--perturb must be a finite number ≥ 0, got \(perturb)") }
    let started = ContinuousClock.now
    let checkpoint = try wrapped {
      model.hasSuffix(".gguf") ? try TrainedTransformer(gguf: model) : try TrainedTransformer(huggingFaceDirectory: URL(fileURLWithPath: model))
    }
    let seconds = started.duration(to: .now)
    var c = checkpoint.configuration
    c.sequenceLength = seqLen
    c.rankToleranceFactor = rankTolerance
    c.attentionSpectra = attentionSpectra
    if let maximum = checkpoint.maximumSequenceLength, seqLen > maximum {
      throw RunError("--seq-len \(seqLen) exceeds the \(maximum) learned positions of \(model)")
    }
    var source = CheckpointSource(directory: model, name: checkpoint.name, modelSHA256: checkpoint.sha256, perturbation: perturb ?? 0)
    let tokenInput: DecoderTokenInput
    if let tokenIDs {
      tokenInput = .windows(try readTokenIDs(tokenIDs, vocabularySize: checkpoint.vocabularySize, into: &source, &c))
    } else if let text {
      let (data, contents) = try readTextFile(text)
      let windows = try wrapped { try checkpoint.textWindows(of: contents, sequenceLength: seqLen, source: text) }
      let count = windows.count
      source.textPath = text
      source.textSHA256 = sha256Hex(of: data)
      source.windowCount = count
      c.input = .text
      tokenInput = .windows(windows)
    } else {
      if seqLen > checkpoint.ordinaryTokenIDs.count {
        throw RunError("--seq-len \(seqLen) needs \(seqLen) distinct tokens, but the vocabulary has \(checkpoint.ordinaryTokenIDs.count) ordinary ones")
      }
      c.input = .randomTokens
      tokenInput = .randomTokens(candidates: checkpoint.ordinaryTokenIDs)
    }
    c.checkpoint = source
    try wrapped {
      c.variants = try Variant.parseList(variants ?? Variant.dongSurgeries(normPosition: c.block.normPosition).map(\.description).joined(separator: ","))
      try c.validate()
    }
    var notes: [String] = []
    if !checkpoint.unusedTensors.isEmpty {
      let list = checkpoint.unusedTensors.prefix(5).joined(separator: ", ")
      notes.append("mc-generic: warning: \(checkpoint.unusedTensors.count) tensors of \(model) are not part of the model and are not used: \(list)\(checkpoint.unusedTensors.count > 5 ? ", …" : "")")
    }
    let load = Double(seconds.components.seconds) + Double(seconds.components.attoseconds) * 1e-18
    notes.append("mc-generic: loaded \(checkpoint.name) (\(checkpoint.format)) from \(model) in \(String(format: "%.2f", load)) s (\(c.blockSummary); weights as stored, dequantised to Float32)")
    return (c, TrainedTransformerEngine(checkpoint: checkpoint, input: tokenInput), source.windowCount, notes)
  }
}
