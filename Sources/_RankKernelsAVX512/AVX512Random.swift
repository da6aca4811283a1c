// RandomStream's bulk fills at 16 lanes: two groups of 32 numbers per step
// (RandomLanes' generic code, specialised here with -mavx512f). Per lane the
// operations are those of the 8-lane fill, so the numbers are the same bits.
// Each step's four results pass through `rankkernels_opaque16` before their
// halves are stored to the two groups (see RankKernelsOpaque.h); without it
// LLVM computed half of Box–Muller in ymm halves. Box–Muller's polynomials are
// bound by vector issue, not latency, so the doubled width about doubles the
// rate: `kernel-compare --kernel rng --threads 1` on an Intel Xeon (family 6,
// model 207) gives normals at 0.75–0.78 G/s against 0.36–0.41 with 8 lanes.

#if arch(x86_64)
import _RankKernelsCPU
import _RankKernelsLanes

/// The 16-lane uniform and normal fills. Call only when the CPU has AVX-512F.
public enum AVX512Random {
  /// `groupCount` whole groups of 32 uniforms in (0, 1), from group
  /// `firstGroup` of the stream at `address`, into `destination`.
  @inline(never)
  public static func fillUniformGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress
  ) {
    inPairs(firstGroup: firstGroup, groupCount: groupCount) { offset, count, pairs in
      let target = destination + 32 * offset, block = 8 * (firstGroup + UInt64(offset))
      if pairs {
        RandomLanes.fillGroups(SIMD16<Float>.self, target, firstBlock: block, groupCount: count, address: address) {
          opaque(RandomLanes.uniforms($0, $1, $2, $3))
        }
      } else {
        RandomLanes.fillUniformGroups(SIMD8<Float>.self, target, firstBlock: block, groupCount: count, address: address)
      }
    }
  }

  /// As `fillUniformGroups`, for normals N(mean, standardDeviation²).
  @inline(never)
  public static func fillNormalGroups(
    _ destination: UnsafeMutablePointer<Float>, firstGroup: UInt64, groupCount: Int,
    address: RandomLanes.StreamAddress, mean: Float, standardDeviation: Float
  ) {
    inPairs(firstGroup: firstGroup, groupCount: groupCount) { offset, count, pairs in
      let target = destination + 32 * offset, block = 8 * (firstGroup + UInt64(offset))
      if pairs {
        let scale = SIMD16<Float>(repeating: standardDeviation), shift = SIMD16<Float>(repeating: mean)
        RandomLanes.fillGroups(SIMD16<Float>.self, target, firstBlock: block, groupCount: count, address: address) {
          opaque(RandomLanes.normals($0, $1, $2, $3, scale: scale, shift: shift))
        }
      } else {
        RandomLanes.fillNormalGroups(
          SIMD8<Float>.self, target, firstBlock: block, groupCount: count, address: address, mean: mean,
          standardDeviation: standardDeviation)
      }
    }
  }

  /// A step's four vectors, each through the optimisation barrier.
  @inline(__always)
  static func opaque(_ v: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)) -> (
    SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>
  ) {
    (rankkernels_opaque16(v.0), rankkernels_opaque16(v.1), rankkernels_opaque16(v.2), rankkernels_opaque16(v.3))
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
