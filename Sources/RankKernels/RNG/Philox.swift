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

  /// One block: 10 rounds on `counter` under `key` (scalar reference form;
  /// the bulk fills compute one block per vector lane, `RandomLanes.philoxBlocks`).
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

}
