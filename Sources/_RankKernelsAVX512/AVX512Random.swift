// RandomStream's bulk fills at 16 lanes: two groups of 32 numbers per step
// (RandomLanes' generic code, specialised here with -mavx512f). Per lane the
// operations are those of the 8-lane fill, so the numbers are the same bits.
// Measured on an Intel Xeon (family 6, model 207): normals 0.88 G/s against
// 0.44 with 8 lanes; Box–Muller's polynomials are bound by vector issue, not
// latency, so the doubled width doubles the rate.

#if arch(x86_64)
import _RankKernelsLanes

/// The 16-lane uniform and normal fills. Call only when the CPU has AVX-512F.
public enum AVX512Random {
  /// `groupCount` whole groups of 32 uniforms in (0, 1), from group
  /// `firstGroup` of the stream at `address`, into `destination`.
  public static func fillUniformGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress
  ) {
    withStaging { staging in
      fillUniformGroups(destination, firstGroup: firstGroup, groupCount: groupCount, address: address, staging: staging)
    }
  }

  @inline(never)
  static func fillUniformGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress, staging: UnsafeMutableRawPointer
  ) {
    inPairs(firstGroup: firstGroup, groupCount: groupCount) { offset, count, pairs in
      let target = destination + 32 * offset, block = 8 * (firstGroup + UInt64(offset))
      if pairs {
        RandomLanes.fillUniformGroups(
          SIMD16<Float>.self, target, firstBlock: block, groupCount: count, address: address, staging: staging)
      } else {
        RandomLanes.fillUniformGroups(SIMD8<Float>.self, target, firstBlock: block, groupCount: count, address: address)
      }
    }
  }

  /// As `fillUniformGroups`, for normals N(mean, standardDeviation²).
  public static func fillNormalGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress, mean: Float, standardDeviation: Float
  ) {
    withStaging { staging in
      fillNormalGroups(
        destination, firstGroup: firstGroup, groupCount: groupCount, address: address, mean: mean,
        standardDeviation: standardDeviation, staging: staging)
    }
  }

  @inline(never)
  static func fillNormalGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress, mean: Float, standardDeviation: Float, staging: UnsafeMutableRawPointer
  ) {
    inPairs(firstGroup: firstGroup, groupCount: groupCount) { offset, count, pairs in
      let target = destination + 32 * offset, block = 8 * (firstGroup + UInt64(offset))
      if pairs {
        RandomLanes.fillNormalGroups(
          SIMD16<Float>.self, target, firstBlock: block, groupCount: count, address: address, mean: mean,
          standardDeviation: standardDeviation, staging: staging)
      } else {
        RandomLanes.fillNormalGroups(
          SIMD8<Float>.self, target, firstBlock: block, groupCount: count, address: address, mean: mean,
          standardDeviation: standardDeviation)
      }
    }
  }

  /// 64 floats on the stack for `FloatLanes.storeGroups`, handed to the
  /// non-inlined fill as a parameter, which LLVM cannot see through.
  @inline(__always)
  static func withStaging(_ body: (UnsafeMutableRawPointer) -> Void) {
    var staging = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
    withUnsafeMutableBytes(of: &staging) { body($0.baseAddress!) }
  }

  /// Splits groups into pairs that start on an even group (so that a pair's
  /// blocks 8g ..< 8g + 16 never straddle a change of the high counter word)
  /// and single groups at either end: `body(offset, count, pairs)`.
  @inline(__always)
  static func inPairs(firstGroup: UInt64, groupCount: Int, _ body: (Int, Int, Bool) -> Void) {
    var offset = 0
    if groupCount > 0 && firstGroup % 2 == 1 {
      body(0, 1, false)
      offset = 1
    }
    let paired = (groupCount - offset) / 2 * 2
    if paired > 0 { body(offset, paired, true) }
    if offset + paired < groupCount { body(offset + paired, 1, false) }
  }
}
#endif
