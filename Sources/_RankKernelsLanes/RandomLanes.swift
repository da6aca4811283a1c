// The lanewise core of RankKernels' `RandomStream`: Philox4x32-10 blocks, one
// per lane, and their words turned into uniform or normal floats, at any
// `FloatLanes` width. The stream's layout (groups of 32 positions sharing
// eight blocks) is RandomStream's; this file only fills whole groups.

/// Philox blocks and their conversion to floats, lane by lane.
public enum RandomLanes {
  /// One Philox4x32-10 block per lane: counters (c0, c1, c2, c3) lane by lane
  /// under `key`.
  ///
  /// Each word is held as two vectors of 64-bit lanes (the even and the odd
  /// blocks) with the 32-bit value in the low half. `vpmuludq` reads only the
  /// low halves, so its 64-bit product directly gives the next round's high
  /// word (shift right) and low word (the product itself, whose high half is
  /// then don't-care): fewer instructions than multiplying 32-bit lanes as
  /// even and odd halves and merging the products back every round. The high
  /// halves carry garbage through the XORs and are dropped when the words are
  /// interleaved back into 32-bit lanes at the end.
  @inlinable @inline(__always)
  public static func philoxBlocks<V: FloatLanes>(
    _: V.Type, _ c0: V.Bits, _ c1: V.Bits, _ c2: V.Bits, _ c3: V.Bits, key: (UInt32, UInt32)
  ) -> (V.Bits, V.Bits, V.Bits, V.Bits) {
    typealias Pairs = V.PairedBits
    let low = Pairs(repeating: 0xFFFF_FFFF)
    // Even blocks in e*, odd blocks in o*.
    let w0 = unsafeBitCast(c0, to: Pairs.self), w1 = unsafeBitCast(c1, to: Pairs.self)
    let w2 = unsafeBitCast(c2, to: Pairs.self), w3 = unsafeBitCast(c3, to: Pairs.self)
    var e0 = w0, e1 = w1, e2 = w2, e3 = w3
    var o0 = w0 &>> 32, o1 = w1 &>> 32, o2 = w2 &>> 32, o3 = w3 &>> 32
    let m0 = Pairs(repeating: 0xD251_1F53), m1 = Pairs(repeating: 0xCD9E_8D57)
    var k0 = key.0, k1 = key.1
    for round in 0..<10 {
      if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
      let key0 = Pairs(repeating: UInt64(k0)), key1 = Pairs(repeating: UInt64(k1))
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
    @inline(__always) func interleave(_ even: Pairs, _ odd: Pairs) -> V.Bits {
      unsafeBitCast((even & low) | (odd &<< 32), to: V.Bits.self)
    }
    return (interleave(e0, o0), interleave(e1, o1), interleave(e2, o2), interleave(e3, o3))
  }

  /// The top 23 bits k of each word → (k + ½)·2⁻²³ in (0, 1), never 0 or 1.
  /// Built by setting k as the mantissa of 1.0 (exact, no int→float
  /// conversion, which the generic SIMD initialiser performs out of line).
  @inlinable @inline(__always)
  public static func uniform<V: FloatLanes>(_ bits: V.Bits) -> V {
    unitInterval(bits &>> 9) + V(repeating: 0x1p-24)
  }

  /// k·2⁻²³ for 23-bit integers k, exactly.
  @inlinable @inline(__always)
  public static func unitInterval<V: FloatLanes>(_ mantissa: V.Bits) -> V {
    unsafeBitCast(mantissa | 0x3F80_0000, to: V.self) - 1
  }

  /// Box–Muller: radius from all 32 bits (k/2²³ plus the low 9 bits as a
  /// finer fraction, so small uniforms keep their resolution; never 0), angle
  /// from the top 23 bits, in (−π, π).
  @inlinable @inline(__always)
  public static func boxMuller<V: FloatLanes>(_ radiusBits: V.Bits, _ angleBits: V.Bits) -> (V, V) {
    let coarse: V = unitInterval(radiusBits &>> 9)
    let fine: V = unitInterval((radiusBits & 0x1FF) &<< 14) + V(repeating: 0x1p-10)
    let radiusUniform = LaneMath.fma(fine, V(repeating: 0x1p-23), coarse)
    let radius = LaneMath.squareRoot(LaneMath.log(radiusUniform) * -2)
    let angleUniform: V = uniform(angleBits) - 0.5
    let (sine, cosine) = LaneMath.sinCos(angleUniform * (2 * Float.pi))
    return (radius * cosine, radius * sine)
  }

  /// The counters and key of one stream: Philox's counter is (block's low
  /// word, block's high word | family, stream's low word, stream's high word),
  /// its key the seed.
  public struct StreamAddress: Sendable {
    public var seed: UInt64
    public var stream: UInt64
    public var family: UInt32

    @inlinable
    public init(seed: UInt64, stream: UInt64, family: UInt32) {
      self.seed = seed
      self.stream = stream
      self.family = family
    }
  }

  /// Fills `groupCount` whole groups of 32 floats, the first made from
  /// blocks `firstBlock ..< firstBlock + 8`, `V.scalarCount / 8` groups per
  /// step. `groupCount` must be a multiple of that; with more than one group
  /// per step, no step may straddle a change of the block's high word (the
  /// caller starts on an even group: 8·(g + 1) then never crosses 2³²).
  @inlinable @inline(__always)
  public static func fillGroups<V: FloatLanes>(
    _ lanes: V.Type, _ destination: UnsafeMutablePointer<Float>, firstBlock: UInt64, groupCount: Int,
    address: StreamAddress,
    transform: (V.Bits, V.Bits, V.Bits, V.Bits) -> (V, V, V, V)
  ) {
    let groupsPerStep = V.scalarCount / 8
    let key = (UInt32(truncatingIfNeeded: address.seed), UInt32(truncatingIfNeeded: address.seed >> 32))
    let streamLow = V.Bits(repeating: UInt32(truncatingIfNeeded: address.stream))
    let streamHigh = V.Bits(repeating: UInt32(truncatingIfNeeded: address.stream >> 32))
    var group = 0
    while group < groupCount {
      let block = firstBlock &+ UInt64(8 * group)
      let low = V.Bits(repeating: UInt32(truncatingIfNeeded: block)) &+ V.laneIndices
      let high = V.Bits(repeating: UInt32(truncatingIfNeeded: block >> 32) | address.family)
      let words = philoxBlocks(V.self, low, high, streamLow, streamHigh, key: key)
      V.storeGroups(transform(words.0, words.1, words.2, words.3), to: UnsafeMutableRawPointer(destination + 32 * group))
      group &+= groupsPerStep
    }
  }

  /// `fillGroups` producing uniforms in (0, 1) (`uniform`).
  @inlinable @inline(__always)
  public static func fillUniformGroups<V: FloatLanes>(
    _ lanes: V.Type, _ destination: UnsafeMutablePointer<Float>, firstBlock: UInt64, groupCount: Int,
    address: StreamAddress
  ) {
    fillGroups(V.self, destination, firstBlock: firstBlock, groupCount: groupCount, address: address, transform: uniforms)
  }

  /// A block's four words as uniforms in (0, 1) (`uniform`): the transform of
  /// `fillUniformGroups`.
  @inlinable @inline(__always)
  public static func uniforms<V: FloatLanes>(_ w0: V.Bits, _ w1: V.Bits, _ w2: V.Bits, _ w3: V.Bits) -> (V, V, V, V) {
    (uniform(w0), uniform(w1), uniform(w2), uniform(w3))
  }

  /// `fillGroups` producing normals N(mean, sd²) by Box–Muller on words
  /// (0, 1) and (2, 3).
  @inlinable @inline(__always)
  public static func fillNormalGroups<V: FloatLanes>(
    _ lanes: V.Type, _ destination: UnsafeMutablePointer<Float>, firstBlock: UInt64, groupCount: Int,
    address: StreamAddress, mean: Float, standardDeviation: Float
  ) {
    let scale = V(repeating: standardDeviation), shift = V(repeating: mean)
    fillGroups(V.self, destination, firstBlock: firstBlock, groupCount: groupCount, address: address) {
      normals($0, $1, $2, $3, scale: scale, shift: shift)
    }
  }

  /// A block's four words as normals N(shift, scale²), by Box–Muller on words
  /// (0, 1) and (2, 3): the transform of `fillNormalGroups`.
  @inlinable @inline(__always)
  public static func normals<V: FloatLanes>(
    _ w0: V.Bits, _ w1: V.Bits, _ w2: V.Bits, _ w3: V.Bits, scale: V, shift: V
  ) -> (V, V, V, V) {
    let (z0, z1): (V, V) = boxMuller(w0, w1)
    let (z2, z3): (V, V) = boxMuller(w2, w3)
    return (LaneMath.fma(z0, scale, shift), LaneMath.fma(z1, scale, shift), LaneMath.fma(z2, scale, shift),
      LaneMath.fma(z3, scale, shift))
  }

  /// `fillUniformGroups` at 8 lanes, compiled here (optimised, with AVX2 in
  /// x86-64 builds) in every configuration: RankKernels' 8-lane path.
  @inline(never)
  public static func fillUniformGroups8(
    _ destination: UnsafeMutablePointer<Float>, firstBlock: UInt64, groupCount: Int, address: StreamAddress
  ) {
    fillUniformGroups(SIMD8<Float>.self, destination, firstBlock: firstBlock, groupCount: groupCount, address: address)
  }

  /// `fillNormalGroups` at 8 lanes, as `fillUniformGroups8`.
  @inline(never)
  public static func fillNormalGroups8(
    _ destination: UnsafeMutablePointer<Float>, firstBlock: UInt64, groupCount: Int, address: StreamAddress,
    mean: Float, standardDeviation: Float
  ) {
    fillNormalGroups(
      SIMD8<Float>.self, destination, firstBlock: firstBlock, groupCount: groupCount, address: address, mean: mean,
      standardDeviation: standardDeviation)
  }
}
