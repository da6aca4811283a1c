import RankKernels

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
