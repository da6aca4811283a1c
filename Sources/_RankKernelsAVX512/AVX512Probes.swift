// The peak-FMA probe at AVX-512's width, for RankKernels' `MachineProbes`.

#if arch(x86_64)
import _RankKernelsLanes

extension AVX512MicroKernel {
  /// `LaneProbes.fmaThroughput` at 16 lanes (zmm).
  @inline(never)
  public static func fmaThroughputKernel(iterations: Int) -> (flops: Double, checksum: Float) {
    LaneProbes.fmaThroughput(SIMD16<Float>.self, iterations: iterations)
  }
}
#endif
