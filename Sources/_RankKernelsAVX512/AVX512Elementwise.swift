// GELU's erf form at 16 lanes, for RankKernels' `gelu`: the same lanewise
// code as its 8-lane loop (`LaneMath.geluErf`, `_RankKernelsLanes`), so the same bits.

#if arch(x86_64)
import _RankKernelsLanes

/// Elementwise maps at AVX-512's width. Call only when the CPU has AVX-512F.
public enum AVX512Elementwise {
  /// output[i] = `LaneMath.geluErf`(input[i]) for i < count, count a
  /// multiple of 16 (in place too: each vector is read before it is
  /// written); returns the largest input bit pattern read as unsigned, which
  /// tells the caller whether any input lies below −6 (its scalar pass).
  @inline(never)
  public static func geluErf(_ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) -> UInt32 {
    precondition(count % 16 == 0, "AVX512Elementwise.geluErf takes whole vectors")
    var largest = SIMD16<UInt32>()
    var i = 0
    while i < count {
      let x = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD16<Float>.self)
      let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
      largest = largest.replacing(with: bits, where: bits .> largest)
      UnsafeMutableRawPointer(output + i).storeBytes(of: LaneMath.geluErf(x), as: SIMD16<Float>.self)
      i &+= 16
    }
    return largest.max()
  }
}
#endif
