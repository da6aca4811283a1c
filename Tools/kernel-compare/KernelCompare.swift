import Foundation
import ArgumentParser
import RankKernels

@main
struct KernelCompare: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernel-compare",
    abstract: "Measure RankKernels' Swift kernels side by side with OpenBLAS in one process.")

  @Option(help: "Threads for every kernel and backend.")
  var threads: Int = Threading.defaultThreadCount

  @Option(help: "Alternating timing rounds per contender; the best round is reported.")
  var rounds: Int = 7

  @Option(help: "Minimum seconds per timing round.")
  var roundSeconds: Double = 0.2

  @Option(help: "Only kernels whose name contains this text (e.g. sgemm, qr, singular_values).")
  var kernel: String?

  @Option(help: "Only shapes whose name contains this text (e.g. 128x768x3072).")
  var shape: String?

  @Option(name: .customLong("engines"), help: "Also time one mc-generic sample with the dense, sketch and Gram engines at these sequence lengths (e.g. 16 or 16,128,512), and print the limit analysis.")
  var engineLengths: String?

  @Flag(name: .customLong("skip-numpy"), help: "Do not run the numpy comparison (python3 child process).")
  var skipNumpy = false

  @Flag(help: "Skip the machine-limit probes (peak FMA, micro-kernel ceiling).")
  var skipProbes = false

  @Option(help: "Instead of the table, time one mc-generic sample of this trained checkpoint (Dong's four surgeries) against SGEMM and HF transformers.")
  var checkpoint: String?

  @Option(help: "With --checkpoint: the text whose first window the sample uses (needed for the HF comparison).")
  var text: String?

  @Option(name: .customLong("checkpoint-seq-len"), help: "With --checkpoint: tokens per sequence.")
  var checkpointSequenceLength = 128

  @Flag(name: .customLong("skip-hf"), help: "With --checkpoint: do not run the HF transformers child.")
  var skipHF = false

  @Flag(help: "Print one JSON object per line instead of a table.")
  var json = false

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be >= 1, got \(threads)") }
    guard rounds >= 1 else { throw ValidationError("--rounds must be >= 1, got \(rounds)") }
    guard interleavedCalls >= 0 else { throw ValidationError("--interleaved-calls must be >= 0, got \(interleavedCalls)") }
  }

  @Option(help: "Time each contender by the median of this many calls interleaved with the other contenders' (robust on a noisy shared machine) instead of best-of-rounds.")
  var interleavedCalls: Int = 0

  @Option(help: "Instead of the table, print per-call latency percentiles of SGEMM at this MxKxN shape.")
  var latency: String?

  func run() throws {
    if let latency {
      let sizes = latency.split(separator: "x").compactMap { Int($0) }
      guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("--latency expects MxKxN with positive sizes, got '\(latency)'")
      }
      printLatencyPercentiles(m: sizes[0], k: sizes[1], n: sizes[2], threads: threads)
      return
    }
    if let checkpoint, checkpoint.hasSuffix(".gguf") {
      try runTrainedTransformerBenchmark(path: checkpoint, sequenceLength: checkpointSequenceLength, threads: threads, rounds: rounds, skipTorch: skipHF)
      return
    }
    if let checkpoint {
      try runCheckpointBenchmark(
        directory: checkpoint, text: text, sequenceLength: checkpointSequenceLength, threads: threads, rounds: rounds, skipHF: skipHF)
      return
    }
    let backends = availableBackends()
    let machine = machineDescription()
    printError("kernel-compare: " + machine.map { "\($0.key) \($0.value)" }.sorted().joined(separator: "; "))
    if json, let line = try? JSONSerialization.data(withJSONObject: ["machine": machine], options: [.sortedKeys]) {
      print(String(decoding: line, as: UTF8.self))
    }
    if !skipProbes {
    let peak = measurePeakGFLOPS(threads: threads)
    let microKernel = measureMicroKernelGFLOPS()
    printError("peak FMA: \(String(format2: peak.perCore)) GFLOP/s on 1 core, \(String(format2: peak.allCores)) on \(threads); GEMM micro-kernel in L1: \(String(format2: microKernel)) GFLOP/s")
    let scoreTile = measureInPlaceTileGFLOPS(k: 64, lda: 768), outputTile = measureInPlaceTileGFLOPS(k: 128, lda: 128)
    printError("attention's in-place tile in L1: \(String(format2: scoreTile)) GFLOP/s (k 64, lda 768), \(String(format2: outputTile)) (k 128, lda 128)")
    }
    var cases = gemmCases(backends: backends, threads: threads) + tinyGEMMCases(backends: backends)
    cases += factorizationCases(backends: backends, threads: threads)
    cases += attentionCases(threads: threads)
    cases += randomizedSVDCases(backends: backends, threads: threads)
    cases += gramCases() + centringCases() + eigenvalueCases(threads: threads) + pivotedCholeskyCases(threads: threads)
    cases += streamBandwidthCases(threads: threads)
    cases += elementwiseCases(threads: threads)
    cases += rngCases(threads: threads)
    if let engineLengths {
      let lengths = engineLengths.split(separator: ",").compactMap { Int($0) }
      guard !lengths.isEmpty, lengths.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("--engines expects comma-separated positive sequence lengths, got '\(engineLengths)'")
      }
      cases += engineCases(sequenceLengths: lengths)
    }
    func wanted(_ caseKernel: String, _ caseShape: String) -> Bool {
      (kernel.map { caseKernel.contains($0) } ?? true) && (shape.map { caseShape.contains($0) } ?? true)
    }
    let selected = cases.filter { wanted($0.kernel, $0.shape) }
    if selected.isEmpty { throw ValidationError("no benchmark matches --kernel \(kernel ?? "*") --shape \(shape ?? "*")") }
    var rows: [Measurement] = []
    for benchmark in selected {
      let measured = measure(benchmark, threads: threads, rounds: rounds, roundSeconds: roundSeconds, interleavedCalls: interleavedCalls)
      if json { measured.forEach { print($0.jsonLine) } }
      rows += measured
    }
    if !skipNumpy {
      for var row in numpyMeasurements(threads: threads, rounds: rounds, roundSeconds: roundSeconds, selected: wanted) {
        // Ratios against the rows of this run: OpenBLAS's time, and the Swift
        // kernel's (the first contender) for "vs first".
        let peers = rows.filter { $0.kernel == row.kernel && $0.shape == row.shape }
        row.ratioToOpenBLAS = peers.first { $0.backend == "openblas" }.map { $0.seconds / row.seconds }
        row.ratioToFirst = peers.first.map { $0.seconds / row.seconds } ?? 1
        if json { print(row.jsonLine) }
        rows.append(row)
      }
    }
    if !json { print(formatTable(rows)) }
    printEngineWork(rows: rows, rounds: rounds, json: json)
  }
}

/// What a figure depends on besides the code: the CPU and its vector ISA, the
/// ISA the kernels were built for, OpenBLAS's version and run-time core, the
/// compiler. Printed first (stderr) and, with --json, as the first line.
func machineDescription() -> [String: String] {
  #if compiler(>=6.3)
  let compiler = "Swift 6.3 or later"
  #else
  let compiler = "Swift before 6.3"
  #endif
  return [
    "cpu": CPUFeatures.cpuModel ?? "unknown",
    "isa": CPUFeatures.cpuHasAVX512F ? "AVX-512F, AVX2+FMA" : CPUFeatures.cpuHasAVX2FMA ? "AVX2+FMA (no AVX-512F)" : "no AVX2+FMA",
    "kernels_built_for": CPUFeatures.builtWithAVX2FMA ? (CPUFeatures.builtWithAVX512 ? "AVX2+FMA, AVX-512F" : "AVX2+FMA") : "baseline",
    "kernels_run": CPUFeatures.kernelInstructionSet.name,
    "openblas": (Backends.openBLAS as? OpenBLASBackend)?.configuration ?? Backends.openBLASUnavailableReason.map { "unavailable (\($0))" } ?? "unavailable",
    "compiler": compiler,
    "logical_cpus": String(ProcessInfo.processInfo.activeProcessorCount),
  ]
}

func availableBackends() -> [any LinearAlgebraBackend] {
  if let openBLAS = Backends.openBLAS as? OpenBLASBackend {
    warnIfOpenBLASMissesAVX512(configuration: openBLAS.configuration ?? "")
    return [Backends.swift, openBLAS]
  }
  if let openBLAS = Backends.openBLAS { return [Backends.swift, openBLAS] }
  printError("kernel-compare: OpenBLAS unavailable (\(Backends.openBLASUnavailableReason ?? "?")); Swift only")
  return [Backends.swift]
}

/// OpenBLAS picks its kernels by CPU model, and a release older than the CPU
/// falls back to old ones (0.3.21 runs "Prescott", SSE3, on Sapphire Rapids):
/// a comparison against those would flatter the Swift kernels. Says so, and
/// how to compare against its AVX-512 kernels instead.
func warnIfOpenBLASMissesAVX512(configuration: String) {
  guard CPUFeatures.cpuHasAVX512F else { return }
  let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5"]
  let lowered = configuration.lowercased()
  if avx512Cores.contains(where: { lowered.contains($0) }) { return }
  printError(
    "kernel-compare: warning: this CPU has AVX-512F but OpenBLAS runs other kernels (\(configuration)); "
      + "set OPENBLAS_CORETYPE=SkylakeX to compare against its AVX-512 kernels")
}

func printError(_ message: String) {
  var standardError = StandardError()
  print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    var bytes = Array(string.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
  }
}

#if canImport(Glibc)
import Glibc
#endif
