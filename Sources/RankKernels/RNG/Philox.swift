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

  /// Eight blocks at once, one per lane: the vectorised form used in bulk.
  ///
  /// Each word is held as two vectors of four 64-bit lanes (the even and the
  /// odd blocks) with the 32-bit value in the low half. `vpmuludq` reads only
  /// the low halves, so its 64-bit product directly gives the next round's
  /// high word (shift right) and low word (the product itself, whose high half
  /// is then don't-care): fewer instructions than multiplying eight 32-bit
  /// lanes as even and odd halves and merging the products back every round.
  /// The high halves carry garbage through the XORs and are dropped when the
  /// words are interleaved back into eight 32-bit lanes at the end.
  @inline(__always) @usableFromInline
  static func blocks8(
    _ c0: SIMD8<UInt32>, _ c1: SIMD8<UInt32>, _ c2: SIMD8<UInt32>, _ c3: SIMD8<UInt32>,
    key: (UInt32, UInt32)
  ) -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
    let low = SIMD4<UInt64>(repeating: 0xFFFF_FFFF)
    // Even blocks in e*, odd blocks in o*.
    let w0 = unsafeBitCast(c0, to: SIMD4<UInt64>.self), w1 = unsafeBitCast(c1, to: SIMD4<UInt64>.self)
    let w2 = unsafeBitCast(c2, to: SIMD4<UInt64>.self), w3 = unsafeBitCast(c3, to: SIMD4<UInt64>.self)
    var e0 = w0, e1 = w1, e2 = w2, e3 = w3
    var o0 = w0 &>> 32, o1 = w1 &>> 32, o2 = w2 &>> 32, o3 = w3 &>> 32
    let m0 = SIMD4<UInt64>(repeating: UInt64(multiplier0)), m1 = SIMD4<UInt64>(repeating: UInt64(multiplier1))
    var k0 = key.0, k1 = key.1
    for round in 0..<10 {
      if round > 0 { k0 &+= weyl0; k1 &+= weyl1 }
      let key0 = SIMD4<UInt64>(repeating: UInt64(k0)), key1 = SIMD4<UInt64>(repeating: UInt64(k1))
      let p0 = (e0 & low) &* m0, p1 = (e2 & low) &* m1
      let q0 = (o0 & low) &* m0, q1 = (o2 & low) &* m1
      e0 = (p1 &>> 32) ^ e1 ^ key0
      e2 = (p0 &>> 32) ^ e3 ^ key1
      e1 = p1
      e3 = p0
      o0 = (q1 &>> 32) ^ o1 ^ key0
      o2 = (q0 &>> 32) ^ o3 ^ key1
      o1 = q1
      o3 = q0
    }
    @inline(__always) func interleave(_ even: SIMD4<UInt64>, _ odd: SIMD4<UInt64>) -> SIMD8<UInt32> {
      unsafeBitCast((even & low) | (odd &<< 32), to: SIMD8<UInt32>.self)
    }
    return (interleave(e0, o0), interleave(e1, o1), interleave(e2, o2), interleave(e3, o3))
  }
}
