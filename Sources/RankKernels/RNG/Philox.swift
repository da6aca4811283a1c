/// The Philox4x32-10 counter-based generator (Salmon et al., SC'11), as in
/// Random123: a 128-bit counter and a 64-bit key map to 128 random bits.
///
/// Being stateless, it lets any random number be computed from its position
/// alone: the package keys it by the seed and puts a stream id and the block
/// index in the counter, so a sample's numbers never depend on thread count,
/// scheduling or sharding.
public enum Philox4x32 {
  @usableFromInline static let multiplier0: UInt32 = 0xD251_1F53
  @usableFromInline static let multiplier1: UInt32 = 0xCD9E_8D57
  @usableFromInline static let weyl0: UInt32 = 0x9E37_79B9
  @usableFromInline static let weyl1: UInt32 = 0xBB67_AE85

  /// One block: 10 rounds on `counter` under `key` (scalar reference form).
  public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
    var c = counter
    var k = key
    for round in 0..<10 {
      if round > 0 { k &+= SIMD2(weyl0, weyl1) }
      let product0 = UInt64(multiplier0) &* UInt64(c[0])
      let product1 = UInt64(multiplier1) &* UInt64(c[2])
      c = SIMD4(
        UInt32(truncatingIfNeeded: product1 >> 32) ^ c[1] ^ k[0],
        UInt32(truncatingIfNeeded: product1),
        UInt32(truncatingIfNeeded: product0 >> 32) ^ c[3] ^ k[1],
        UInt32(truncatingIfNeeded: product0))
    }
    return c
  }

  /// The 64-bit products x[i]·m split into high and low 32-bit halves.
  ///
  /// The lanes are reinterpreted as four 64-bit lanes and the even and odd
  /// 32-bit halves multiplied separately with a 0xFFFF_FFFF mask, which LLVM
  /// lowers to `vpmuludq`; the generic SIMD width conversions it replaces are
  /// outlined library calls.
  @inline(__always) @usableFromInline
  static func multiplyHighLow(_ x: SIMD8<UInt32>, _ m: UInt32) -> (high: SIMD8<UInt32>, low: SIMD8<UInt32>) {
    let wide = unsafeBitCast(x, to: SIMD4<UInt64>.self)
    let mask = SIMD4<UInt64>(repeating: 0xFFFF_FFFF)
    let multiplier = SIMD4<UInt64>(repeating: UInt64(m))
    let even = (wide & mask) &* multiplier
    let odd = (wide &>> 32) &* multiplier
    let low = (even & mask) | (odd &<< 32)
    let high = (even &>> 32) | (odd & ~mask)
    return (unsafeBitCast(high, to: SIMD8<UInt32>.self), unsafeBitCast(low, to: SIMD8<UInt32>.self))
  }

  /// Eight blocks at once, one per lane: the vectorised form used in bulk.
  @inline(__always) @usableFromInline
  static func blocks8(
    _ c0: SIMD8<UInt32>, _ c1: SIMD8<UInt32>, _ c2: SIMD8<UInt32>, _ c3: SIMD8<UInt32>,
    key: (UInt32, UInt32)
  ) -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
    var x0 = c0, x1 = c1, x2 = c2, x3 = c3
    var k0 = key.0, k1 = key.1
    for round in 0..<10 {
      if round > 0 { k0 &+= weyl0; k1 &+= weyl1 }
      let (hi0, lo0) = multiplyHighLow(x0, multiplier0)
      let (hi1, lo1) = multiplyHighLow(x2, multiplier1)
      x0 = hi1 ^ x1 ^ SIMD8(repeating: k0)
      x2 = hi0 ^ x3 ^ SIMD8(repeating: k1)
      x1 = lo1
      x3 = lo0
    }
    return (x0, x1, x2, x3)
  }
}
