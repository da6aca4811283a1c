@_spi(Benchmarking) import RankKernels

/// Peak FMA throughput on one core and on `threads` cores, measured here.
func measurePeakGFLOPS(threads: Int) -> (perCore: Double, allCores: Double) {
  let iterations = 20_000_000
  var best1 = 0.0, bestAll = 0.0
  for _ in 0..<3 {
    var start = monotonicSeconds()
    let single = MachineProbes.fmaThroughputKernel(iterations: iterations)
    best1 = max(best1, single.flops / (monotonicSeconds() - start) * 1e-9)
    start = monotonicSeconds()
    let flops = runOnThreads(threads) { MachineProbes.fmaThroughputKernel(iterations: iterations).flops }
    bestAll = max(bestAll, flops / (monotonicSeconds() - start) * 1e-9)
  }
  return (best1, bestAll)
}

/// The GEMM micro-kernel alone on L1-resident panels (k = 256), one core.
func measureMicroKernelGFLOPS() -> Double {
  var best = 0.0
  for _ in 0..<3 {
    let start = monotonicSeconds()
    let flops = MachineProbes.gemmMicroKernelCeiling(k: 256, repetitions: 200_000)
    best = max(best, flops / (monotonicSeconds() - start) * 1e-9)
  }
  return best
}

/// Attention's in-place-A micro-kernel alone on L1-resident data: (k, lda)
/// as in the score (k = d_k = 64, query rows 768 floats apart) and the
/// output (k = 128 keys, probability strip rows 128 apart) products.
func measureInPlaceTileGFLOPS(k: Int, lda: Int) -> Double {
  var best = 0.0
  for _ in 0..<3 {
    let start = monotonicSeconds()
    let flops = MachineProbes.inPlaceTileCeiling(k: k, lda: lda, repetitions: 25_600_000 / k)
    best = max(best, flops / (monotonicSeconds() - start) * 1e-9)
  }
  return best
}

/// Streaming copy bandwidth (read + write bytes per second) at two sizes:
/// the 4096×768 LayerNorm's (12.6 MB each way, resident in the 32 MiB L3)
/// and 64 MiB each way (main memory). Reported as benchmark rows so every
/// memory-bound kernel can be read as a fraction of them.
func streamBandwidthCases(threads: Int) -> [BenchmarkCase] {
  [(4096 * 768, "4096x768"), (16 << 20, "64MiB")].map { count, label in
    let source = randomBuffer(count, seed: 20), destination = permanentBuffer(count, of: Float.self)
    return BenchmarkCase(
      kernel: "stream_copy", shape: label, work: Double(2 * 4 * count), unit: .gigabytes,
      contenders: [("machine", { MachineProbes.streamCopy(source, destination, count: count, threads: threads) })])
  }
}
