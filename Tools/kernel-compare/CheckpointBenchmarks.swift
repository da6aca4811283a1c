import CollapseLab
import Dispatch
import Foundation
import RankKernels

/// `kernel-compare --checkpoint DIR`: one mc-generic sample of a trained
/// checkpoint (Dong's four surgeries at n = 128 on the text's first window),
/// timed in one process beside the SGEMM rate of the forward pass's largest
/// product, and beside the same experiment written with HF transformers on
/// PyTorch (Tools/trained-reference/hf_surgeries.py, a python3 child), when
/// torch and transformers are installed. Prints:
/// - load: seconds to load the checkpoint (best of 3), SHA-256 included;
/// - forward: FLOPs of the sample's forward pass ÷ its time at one thread,
///   as a fraction of the SGEMM rate measured here;
/// - per sample on `threads` cores: mc-generic runs one sample per thread;
///   HF runs one sample at a time on `threads` intra-op threads; both with
///   the singular values of every state, and both forward-only.
func runCheckpointBenchmark(directory: String, text: String?, sequenceLength n: Int, threads: Int, rounds: Int, skipHF: Bool) throws {
  let url = URL(fileURLWithPath: directory)
  var loadSeconds = Double.infinity
  var loaded: BertCheckpoint? = nil
  for _ in 0..<3 {
    let start = DispatchTime.now().uptimeNanoseconds
    loaded = try BertCheckpoint(directory: url)
    loadSeconds = min(loadSeconds, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
  }
  let checkpoint = loaded!
  let b = checkpoint.configuration
  var c = ModelConfiguration(architecture: b, sequenceLength: n)
  c.variants = Variant.dongSurgeries
  let input: TokenInput
  if let text {
    let contents = try String(contentsOfFile: text, encoding: .utf8)
    input = .windows(try checkpoint.tokenizer.windows(of: contents, sequenceLength: n, source: text))
    c.input = .text
  } else {
    input = .randomTokens(candidates: checkpoint.tokenizer.nonSpecialIDs)
    c.input = .randomTokens
  }
  c.checkpoint = CheckpointSource(directory: directory, name: checkpoint.name, modelSHA256: checkpoint.modelSHA256)
  let engine = CheckpointEngine(checkpoint: checkpoint, input: input)
  let flops = CheckpointEngine.forwardFLOPs(configuration: c)

  // SGEMM at the forward pass's largest product (n × d · d × d_ff), one thread.
  let d = b.hiddenSize, f = b.intermediateSize
  let a = randomBuffer(n * d, seed: 1), w = randomBuffer(d * f, seed: 2), out = permanentBuffer(n * f, of: Float.self)
  let sgemmCall = { sgemm(m: n, n: f, k: d, a: a, lda: d, b: w, ldb: f, c: out, ldc: f, threads: 1) }
  let forwardCall = { _ = engine.hiddenStates(sample: 0, configuration: c, seed: 0) }
  let sampleCall = { _ = engine.run(sample: 0, configuration: c, seed: 0) }
  let times = bestSecondsPerCall(contenders: [sgemmCall, forwardCall, sampleCall], rounds: rounds, roundSeconds: 0.5)
  let sgemmRate = 2 * Double(n * d * f) / times[0] * 1e-9
  let forwardRate = flops / times[1] * 1e-9

  // Per sample on `threads` cores, as mc-generic runs: one sample per thread.
  func throughputSeconds(_ body: @escaping @Sendable (UInt64) -> Void) -> Double {
    let perThread = 6
    var best = Double.infinity
    for _ in 0..<max(2, rounds / 2) {
      let start = DispatchTime.now().uptimeNanoseconds
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        for s in 0..<perThread { body(UInt64(t * perThread + s)) }
      }
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(threads * perThread))
    }
    return best
  }
  let configuration = c
  let oursSample = throughputSeconds { _ = engine.run(sample: $0, configuration: configuration, seed: 0) }
  let oursForward = throughputSeconds { _ = engine.hiddenStates(sample: $0, configuration: configuration, seed: 0) }

  print("checkpoint \(checkpoint.name): L=\(b.layers) d=\(d) H=\(b.heads) d_ff=\(f), n=\(n), surgeries \(c.variants.map(\.description).joined(separator: ", "))")
  print(String(format: "load (config, %d tensors, transposes, SHA-256, vocabulary): %.3f s (best of 3)", BertTensor.all(layers: b.layers).count, loadSeconds))
  print(String(format: "forward, 1 thread: %.1f ms for %.2f GFLOP = %.1f GFLOP/s; SGEMM %dx%dx%d here: %.1f GFLOP/s; fraction %.2f", times[1] * 1e3, flops * 1e-9, forwardRate, n, d, f, sgemmRate, forwardRate / sgemmRate))
  print(String(format: "sample with metrics, 1 thread: %.1f ms (metrics %.1f ms)", times[2] * 1e3, (times[2] - times[1]) * 1e3))
  print(String(format: "per sample on %d cores: %.1f ms with metrics, %.1f ms forward only", threads, oursSample * 1e3, oursForward * 1e3))
  guard !skipHF, let text else {
    if text == nil { printError("kernel-compare: the HF comparison needs --text (its windows)") }
    return
  }
  let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("trained-reference/hf_surgeries.py").path
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", script, "--model", directory, "--text", text, "--seq-len", "\(n)", "--time", "--threads", "\(threads)"]
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = FileHandle.nullDevice
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0,
    let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
    let hfSample = object["seconds_per_sample"] as? Double, let hfForward = object["forward_seconds"] as? Double
  else {
    printError("kernel-compare: HF transformers comparison skipped (\(script) failed: are torch and transformers installed?)")
    return
  }
  print(String(format: "HF transformers %@ (torch %@, %d threads): %.1f ms per sample with singular values, %.1f ms forward only",
    "BertModel modules", (object["torch"] as? String) ?? "?", threads, hfSample * 1e3, hfForward * 1e3))
  print(String(format: "ratio HF / mc-generic per sample on %d cores: %.2fx with metrics, %.2fx forward only", threads, hfSample / oursSample, hfForward / oursForward))
}

/// `kernel-compare --checkpoint FILE.gguf`: one mc-generic sample of a trained
/// Llama-family decoder (Dong's four pre-norm surgeries at n tokens, random
/// ids, every metric), timed beside the SGEMM rate of its largest product and
/// beside a lean PyTorch script doing the same surgeries with Dong's ratio only
/// (Tools/trained-reference/torch_decoder_surgeries.py, Float32, batch 1, on
/// `threads` intra-op threads). Prints the load time (best of 3: parse,
/// dequantise, transpose, SHA-256, tokenizer), the forward pass's rate as a
/// fraction of SGEMM's at one thread, and per-sample times on `threads` cores.
func runTrainedTransformerBenchmark(path: String, sequenceLength n: Int, threads: Int, rounds: Int, skipTorch: Bool) throws {
  var loadSeconds = Double.infinity
  var loaded: TrainedTransformer? = nil
  for _ in 0..<3 {
    let start = DispatchTime.now().uptimeNanoseconds
    loaded = try TrainedTransformer(gguf: path)
    loadSeconds = min(loadSeconds, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
  }
  let checkpoint = loaded!
  var c = checkpoint.configuration
  c.sequenceLength = n
  c.variants = Variant.dongSurgeries(normPosition: c.block.normPosition)
  c.input = .randomTokens
  c.checkpoint = CheckpointSource(directory: path, name: checkpoint.name, modelSHA256: checkpoint.sha256)
  let engine = TrainedTransformerEngine(checkpoint: checkpoint, input: .randomTokens(candidates: checkpoint.ordinaryTokenIDs))
  // Per layer and variant: Q and O (d × d), K and V (d × kv), scores and A·V (4n²d), the MLP (2 or 3 products of d × d_ff).
  let d = Double(c.modelDimension), kv = Double(c.keyValueWidth), f = Double(c.feedForwardDimension), tokens = Double(n)
  let attention = 2 * tokens * d * (2 * d + 2 * kv) + 4 * tokens * tokens * d
  let feedForward = 2 * tokens * d * f * (c.activation == .swiglu ? 3 : 2)
  let flops = Double(c.layers) * c.variants.reduce(0) { $0 + attention + ($1.mlp ? feedForward : 0) }

  let a = randomBuffer(n * c.modelDimension, seed: 1), w = randomBuffer(c.modelDimension * c.feedForwardDimension, seed: 2)
  let out = permanentBuffer(n * c.feedForwardDimension, of: Float.self)
  let sgemmCall = {
    sgemm(m: n, n: c.feedForwardDimension, k: c.modelDimension, a: a, lda: c.modelDimension, b: w, ldb: c.feedForwardDimension,
          c: out, ldc: c.feedForwardDimension, threads: 1)
  }
  let configuration = c
  let forwardCall = { _ = engine.hiddenStates(sample: 0, configuration: configuration, seed: 0) }
  let sampleCall = { _ = engine.run(sample: 0, configuration: configuration, seed: 0) }
  let times = bestSecondsPerCall(contenders: [sgemmCall, forwardCall, sampleCall], rounds: max(2, rounds / 2), roundSeconds: 2)
  let sgemmRate = 2 * tokens * d * f / times[0] * 1e-9, forwardRate = flops / times[1] * 1e-9

  var best = Double.infinity
  for _ in 0..<2 {
    let start = DispatchTime.now().uptimeNanoseconds
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      for s in 0..<2 { _ = engine.run(sample: UInt64(t * 2 + s), configuration: configuration, seed: 0) }
    }
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(threads * 2))
  }
  print("checkpoint \(checkpoint.name) (\(checkpoint.format)): \(c.blockSummary), n=\(n), surgeries \(c.variants.map(\.description).joined(separator: ", "))")
  print(String(format: "load (parse, dequantise, transpose, SHA-256, tokenizer): %.3f s (best of 3)", loadSeconds))
  print(String(format: "forward, 1 thread: %.1f ms for %.2f GFLOP = %.1f GFLOP/s; SGEMM %dx%dx%d here: %.1f GFLOP/s; fraction %.2f",
    times[1] * 1e3, flops * 1e-9, forwardRate, n, c.modelDimension, c.feedForwardDimension, sgemmRate, forwardRate / sgemmRate))
  print(String(format: "sample with every metric, 1 thread: %.1f ms (metrics %.1f ms)", times[2] * 1e3, (times[2] - times[1]) * 1e3))
  print(String(format: "per sample on %d cores (one sample per thread), every metric: %.1f ms", threads, best * 1e3))
  guard !skipTorch else { return }
  let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("trained-reference/torch_decoder_surgeries.py").path
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", script, "--model", path, "--seq-len", "\(n)", "--time", "--threads", "\(threads)", "--rounds", "\(max(3, rounds))"]
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = FileHandle.nullDevice
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0, let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
    let torchSample = object["seconds_per_sample"] as? Double
  else {
    printError("kernel-compare: PyTorch comparison skipped (\(script) failed: are torch and gguf installed?)")
    return
  }
  print(String(format: "PyTorch %@ (%d intra-op threads, Float32, batch 1, Dong ratio only): %.1f ms per sample",
    (object["torch"] as? String) ?? "?", threads, torchSample * 1e3))
  print(String(format: "ratio PyTorch / mc-generic per sample on %d cores: %.2fx", threads, torchSample / best))
}
