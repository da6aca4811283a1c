// GELU's erf form, x·Φ(x), lanewise for any `FloatLanes` width: RankKernels
// runs it at 8 lanes, _RankKernelsAVX512 at 16, with the same operations per
// lane (so the same bits). RankKernels' `gelu` adds the loop and the scalar
// pass for inputs below −6.

extension LaneMath {
  /// x·Φ(x) written as max(x, 0) − |x|·Q(|x|), Q(u) = ½·erfc(u/√2) = 1 − Φ(u):
  /// one FMA for both signs, and no 1 − Q rounded on its own. Q(u) =
  /// e^(−u²/2)·R(u), R = N/D a (4, 4) rational in u fitted on [0, 6]
  /// (Tools/fits/gelu_erf_fit.py: relative error 1.8e-8 with its Float32
  /// coefficients, all positive, so neither polynomial cancels). The kernel
  /// holds 2αN and αD with α = 1.625: near u = 0, where Q ≈ ½ and the result's
  /// ulp is finest relative to Q, their values then sit high in their binades,
  /// where a rounding costs least relative to the value; and the quotient is
  /// 2R, so the final FMA takes −u/2, which is exact.
  ///
  /// e^(−u²/2) = 2ⁿ·e^r: n = round(−u²/(2 ln 2)) from u², r = −u²/2 − n·ln 2 by
  /// an FMA of −u/2 and u against the exact n·ln2_hi (Cody–Waite), so the
  /// square is never rounded on its own (that alone would cost u²/2 ulp: 18 at
  /// u = 6); then e^r·R = R + (e^r − 1)·R in one FMA, and 2ⁿ by adding n to the
  /// exponent bits (the product is at least 0.09 and n ≥ −26, so it stays
  /// normal). R's division depends on u alone, so its latency runs beside the
  /// exponential's chain. Beyond u = 6, Q(u)·u is below half an ulp of u, so
  /// positive x give x; for x < −6 (GELU below 6e-9 in magnitude, down to
  /// subnormals) the addend is x itself, so they come back unchanged for the
  /// caller's scalar Float64 pass; NaN gives NaN.
  ///
  /// 22 multiplies and FMAs and a division per vector, all else integer
  /// operations on the bit patterns (|x|, the clamp, the addend's selection, 2ⁿ).
  @inlinable @inline(__always)
  public static func geluErf<V: FloatLanes>(_ x: V) -> V {
    let bits = unsafeBitCast(x, to: V.SignedBits.self)
    // min(|x|, 6) as integers: for non-negative floats the orders agree.
    let magnitudeBits = bits & 0x7FFF_FFFF
    let sixBits = V.SignedBits(repeating: Int32(bitPattern: (6 as Float).bitPattern))
    let u = unsafeBitCast(V.minimum(magnitudeBits, sixBits), to: V.self)
    let minusHalfU = -0.5 * u
    let u2 = u * u
    // n = round(−u²/(2 ln 2)) by the 1.5·2²³ shift; its integer sits in the low bits.
    let roundingShift = V(repeating: 12_582_912)
    let shifted = fma(u2, V(repeating: -0.721_347_52), roundingShift)
    let n = shifted - roundingShift
    // −n·ln2_hi (9 + 5 significant bits: exact) straight from the shifted
    // value, off the subtraction's path; ln2_lo = ln 2 − ln2_hi.
    let ln2High: Float = 0.693_359_375
    let minusNLn2High = fma(shifted, V(repeating: -ln2High), V(repeating: 12_582_912 * ln2High))
    var r = fma(minusHalfU, u, minusNLn2High)
    r = fma(n, V(repeating: 2.121_944_4e-4), r)
    // e^r − 1 = r + r²·P(r), P of degree 4.
    let r2 = r * r
    let p01 = fma(r, V(repeating: 0.166_665_18), V(repeating: 0.499_999_88))
    let p23 = fma(r, V(repeating: 0.008_368_919), V(repeating: 0.041_669_533))
    let expMinusOne = fma(fma(fma(r2, V(repeating: 0.001_375_140_9), p23), r2, p01), r2, r)
    // 2αN and αD in Estrin's form: pairs of terms, then u².
    let numeratorLow = fma(u, V(repeating: 1.003_526), V(repeating: 1.625))
    let numeratorHigh = fma(u, V(repeating: 0.036_125_716), V(repeating: 0.299_694_36))
    let numerator = fma(fma(u2, V(repeating: 4.217_256e-6), numeratorHigh), u2, numeratorLow)
    let denominatorLow = fma(u, V(repeating: 2.300_087_2), V(repeating: 1.625))
    let denominatorHigh = fma(u, V(repeating: 0.373_337_6), V(repeating: 1.322_413))
    let denominator = fma(fma(u2, V(repeating: 0.045_439_504), denominatorHigh), u2, denominatorLow)
    let twiceR = numerator / denominator
    let scaled = fma(expMinusOne, twiceR, twiceR)
    // (bits of shifted) << 23 is n << 23: the shift's own bits move out.
    let exponent = unsafeBitCast(shifted, to: V.SignedBits.self) &<< 23
    let twiceQ = unsafeBitCast(unsafeBitCast(scaled, to: V.SignedBits.self) &+ exponent, to: V.self)
    // The addend: x for x ≥ 0 and for x < −6 (as signed integers, the bit
    // patterns above −6's), 0 between. For x < −6, u = 6 makes the product
    // −5.9e-9, below half an ulp of x, so x comes back unchanged.
    let minusSixBits = V.SignedBits(repeating: Int32(bitPattern: (-6 as Float).bitPattern))
    let addend = unsafeBitCast(V.keeping(bits, whereAbove: minusSixBits), to: V.self)
    return fma(minusHalfU, twiceQ, addend)
  }
}
