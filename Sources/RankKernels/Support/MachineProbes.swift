import _RankKernelsAVX512
import _RankKernelsCPU
import _RankKernelsLanes

/// Measurements of the machine's own limits, so kernel figures can be stated
/// as a fraction of what the hardware can do (used by `kernel-compare`).
/// Not part of the stable API: `@_spi(Benchmarking) import RankKernels`.
@_spi(Benchmarking) public enum MachineProbes {
  /// Runs `iterations` steps of 12 independent FMA chains at the width of the
  /// kernels' instruction set (16 floats with AVX-512, else 8: enough chains
  /// to cover latency × throughput on either) and returns the flop count
  /// performed, 12 · width · 2 per step. Time it to get peak FMA throughput.
  @inline(never)
  public static func fmaThroughputKernel(iterations: Int) -> (flops: Double, checksum: Float) {
    #if arch(x86_64)
    if CPUFeatures.runsAVX512Kernels {
      return AVX512MicroKernel.fmaThroughputKernel(iterations: iterations)
    }
    #endif
    return LaneProbes.fmaThroughput(SIMD8<Float>.self, iterations: iterations)
  }

  /// Runs the GEMM micro-kernel `repetitions` times on L1-resident packed
  /// panels of depth `k` and returns the flop count: the kernel's own ceiling,
  /// free of packing and cache effects.
  @inline(never)
  public static func gemmMicroKernelCeiling(k: Int, repetitions: Int) -> Double {
    withTileOperands(aCount: GEMMMicroKernel.rows * k, k: k, repetitions: repetitions) { a, b, c in
      GEMMMicroKernel.tile(
        dynamicRows: 6, k: k, packedA: a, packedB: b, alpha: 1, beta: 1, c: c, ldc: GEMMMicroKernel.columns)
    }
  }

  /// The in-place-A tile (attention's) on L1-resident rows: A is 6 rows of
  /// depth `k` with row stride `lda`, B a packed k×16 panel.
  @inline(never)
  public static func inPlaceTileCeiling(k: Int, lda: Int, repetitions: Int) -> Double {
    withTileOperands(aCount: GEMMMicroKernel.rows * lda, k: k, repetitions: repetitions) { a, b, c in
      GEMMMicroKernel.tile6ReadingAInPlace(
        k: k, a: a, lda: lda, b: b, ldb: GEMMMicroKernel.columns, alpha: 1, beta: 1, c: c, ldc: GEMMMicroKernel.columns)
    }
  }

  /// Allocates A (`aCount` floats), a k×16 B panel and a 6×16 C tile, runs
  /// `tile` `repetitions` times on them, and returns the flops performed.
  @inline(__always)
  private static func withTileOperands(
    aCount: Int, k: Int, repetitions: Int,
    _ tile: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
  ) -> Double {
    let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
    let a = UnsafeMutablePointer<Float>.allocate(capacity: aCount)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: nr * k)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    a.initialize(repeating: 0.5, count: aCount)
    b.initialize(repeating: 0.25, count: nr * k)
    c.initialize(repeating: 0, count: mr * nr)
    for _ in 0..<repetitions { tile(a, b, c) }
    return Double(repetitions) * Double(2 * mr * nr * k)
  }

  /// Streams `count` floats from `source` to `destination` with 8-wide
  /// loads and stores, split over `threads` contiguous parts: the memory
  /// traffic of a row-wise kernel that reads its input once and writes its
  /// output once (2·4·count bytes), and so the bar for LayerNorm's bandwidth.
  public static func streamCopy(
    _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int, threads: Int
  ) {
    let parts = splitRange(count / 8, parts: max(1, threads), granule: 64)
    parallelForEach(taskCount: parts.count, threads: threads) { part in
      for vector in parts[part] {
        storeVector(loadVector(source + 8 * vector), destination + 8 * vector)
      }
    }
    for i in (count / 8 * 8)..<count { destination[i] = source[i] }
  }
}
