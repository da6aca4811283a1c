import _RankKernelsAVX512
import _RankKernelsCPU

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
    if rankkernels_kernel_isa() == RANKKERNELS_KERNEL_ISA_AVX512 {
      return AVX512MicroKernel.fmaThroughputKernel(iterations: iterations)
    }
    #endif
    typealias V = SIMD8<Float>
    let x = V(repeating: 0.999_999), y = V(repeating: 1e-7)
    var a0 = V(repeating: 1), a1 = V(repeating: 2), a2 = V(repeating: 3), a3 = V(repeating: 4)
    var a4 = V(repeating: 5), a5 = V(repeating: 6), a6 = V(repeating: 7), a7 = V(repeating: 8)
    var a8 = V(repeating: 9), a9 = V(repeating: 10), a10 = V(repeating: 11), a11 = V(repeating: 12)
    for _ in 0..<iterations {
      a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x); a2 = y.addingProduct(a2, x)
      a3 = y.addingProduct(a3, x); a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
      a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x); a8 = y.addingProduct(a8, x)
      a9 = y.addingProduct(a9, x); a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
    }
    let total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11))
    return (Double(iterations) * 12 * 8 * 2, horizontalSum(total))
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
