// The elementary functions the random numbers need (Box–Muller's log, square
// root, sine and cosine), branch-free and lanewise, for any `FloatLanes`
// width. They use only operations that lower to single vector instructions
// (FMA, integer shifts on the bit pattern); the standard library's scalar
// libm calls and SIMD's generic `squareRoot()` go lane by lane. Coefficients
// are Cephes' single-precision minimax polynomials (S. Moshier); accuracy is
// stated per function and checked in RankKernels' VectorMathTests.

/// Lanewise elementary functions (see the file's header).
public enum LaneMath {
  /// a·b + c, fused.
  @inlinable @inline(__always)
  public static func fma<V: FloatLanes>(_ a: V, _ b: V, _ c: V) -> V { c.addingProduct(a, b) }

  /// Natural logarithm for positive normal x, relative error ≤ 2 ulp.
  ///
  /// Branch- and mask-free: subtracting the bits of √½ before splitting off
  /// the exponent puts the mantissa m directly in [√½, √2) (musl's
  /// reduction), so no comparison is needed; the exponent becomes a float
  /// through the 1.5·2²³ shift instead of an int→float conversion.
  @inlinable @inline(__always)
  public static func log<V: FloatLanes>(_ x: V) -> V {
    let sqrtHalfBits: Int32 = 0x3F35_04F3
    let shifted = unsafeBitCast(x, to: V.SignedBits.self) &- sqrtHalfBits
    let exponent = shifted &>> 23  // arithmetic shift: may be negative
    let m = unsafeBitCast((shifted & 0x007F_FFFF) &+ sqrtHalfBits, to: V.self) - 1
    let e = unsafeBitCast(exponent &+ 0x4B40_0000, to: V.self) - V(repeating: 12_582_912)
    let z = m * m
    var p = V(repeating: 7.037_683_6e-2)
    p = fma(p, m, V(repeating: -1.151_461_03e-1))
    p = fma(p, m, V(repeating: 1.167_699_87e-1))
    p = fma(p, m, V(repeating: -1.242_014_08e-1))
    p = fma(p, m, V(repeating: 1.424_932_28e-1))
    p = fma(p, m, V(repeating: -1.666_805_77e-1))
    p = fma(p, m, V(repeating: 2.000_071_48e-1))
    p = fma(p, m, V(repeating: -2.499_999_4e-1))
    p = fma(p, m, V(repeating: 3.333_333_1e-1))
    var y = p * m * z
    y = fma(e, V(repeating: -2.121_944_4e-4), y)
    y = fma(z, V(repeating: -0.5), y)
    return fma(e, V(repeating: 0.693_359_375), m + y)
  }

  /// √x for positive normal x, relative error ≤ 2 ulp: a bit-level estimate
  /// of 1/√x refined by three Newton steps.
  @inlinable @inline(__always)
  public static func squareRoot<V: FloatLanes>(_ x: V) -> V {
    var r = unsafeBitCast(
      V.SignedBits(repeating: 0x5F37_5A86) &- (unsafeBitCast(x, to: V.SignedBits.self) &>> 1), to: V.self)
    let half = x * 0.5
    for _ in 0..<3 { r = r * fma(-half * r, r, V(repeating: 1.5)) }
    let root = x * r
    // One Newton step on the root itself (Heron) recovers the last bits.
    return fma(fma(-root, root, x), r * 0.5, root)
  }

  /// (sin θ, cos θ) for |θ| ≤ 8π, absolute error ≤ 2e-7.
  @inlinable @inline(__always)
  public static func sinCos<V: FloatLanes>(_ theta: V) -> (sin: V, cos: V) {
    let shift = V(repeating: 12_582_912)
    let shifted = fma(theta, V(repeating: 0.636_619_77), shift)  // θ·2/π
    let quadrant = unsafeBitCast(shifted, to: V.SignedBits.self) &- unsafeBitCast(shift, to: V.SignedBits.self)
    let j = shifted - shift
    // Cody–Waite: π/2 split in three parts so y = θ − j·π/2 is exact enough.
    var y = fma(j, V(repeating: -1.570_312_5), theta)
    y = fma(j, V(repeating: -4.837_512_97e-4), y)
    y = fma(j, V(repeating: -7.549_789_95e-8), y)
    let y2 = y * y
    var s = V(repeating: -1.951_529_59e-4)
    s = fma(s, y2, V(repeating: 8.332_160_87e-3))
    s = fma(s, y2, V(repeating: -1.666_665_46e-1))
    let sinY = fma(s * y2, y, y)
    var c = V(repeating: 2.443_315_71e-5)
    c = fma(c, y2, V(repeating: -1.388_731_6e-3))
    c = fma(c, y2, V(repeating: 4.166_664_57e-2))
    let cosY = fma(c * y2, y2, fma(y2, V(repeating: -0.5), V(repeating: 1)))
    // Quadrant q: sin θ = [sin y, cos y, −sin y, −cos y][q], cos θ = sin(θ + π/2).
    // Selections are bit masks (0 − (q & 1) is all ones for odd q): an integer
    // `.!=` comparison builds its SIMDMask lane by lane through generic code.
    let swap = unsafeBitCast(V.SignedBits(repeating: 0) &- (quadrant & 1), to: V.Bits.self)
    let sinBits = unsafeBitCast(sinY, to: V.Bits.self), cosBits = unsafeBitCast(cosY, to: V.Bits.self)
    let sinBase = (sinBits & ~swap) | (cosBits & swap)
    let cosBase = (cosBits & ~swap) | (sinBits & swap)
    let sinSign = unsafeBitCast((quadrant & 2) &<< 30, to: V.Bits.self)
    let cosSign = unsafeBitCast(((quadrant &+ 1) & 2) &<< 30, to: V.Bits.self)
    return (unsafeBitCast(sinBase ^ sinSign, to: V.self), unsafeBitCast(cosBase ^ cosSign, to: V.self))
  }
}
