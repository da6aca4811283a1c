// Branch-free SIMD8<Float> elementary functions for the kernels' inner loops.
//
// The standard library's `exp`/`log` are scalar libm calls, and SIMD's generic
// `.max()`/`.rounded()` go out of line; these use only operations that lower to
// single AVX2 instructions (FMA, blends, integer shifts on the bit pattern).
// Coefficients are Cephes' single-precision minimax polynomials (S. Moshier),
// except exp's, fitted here (see `expOfReduced`); the
// accuracy is stated per function and checked in VectorMathTests.

import _RankKernelsLanes

@usableFromInline typealias Float8 = SIMD8<Float>
@usableFromInline typealias Int8x32 = SIMD8<Int32>

/// a·b + c, fused.
@inline(__always) @usableFromInline
func fma8(_ a: Float8, _ b: Float8, _ c: Float8) -> Float8 { c.addingProduct(a, b) }

/// Elementwise maximum that compiles to one `vmaxps` (the generic
/// `pointwiseMax` goes through a slow NaN-aware path).
@inline(__always) @usableFromInline
func max8(_ a: Float8, _ b: Float8) -> Float8 { a.replacing(with: b, where: b .> a) }

/// Horizontal sum as a tree (`.sum()` adds the lanes one by one, in order).
@inline(__always) @usableFromInline
func horizontalSum(_ v: Float8) -> Float {
  let four = v.lowHalf + v.highHalf
  let two = four.lowHalf + four.highHalf
  return two[0] + two[1]
}

/// Horizontal maximum as a tree of `vmaxps`.
@inline(__always) @usableFromInline
func horizontalMax(_ v: Float8) -> Float {
  let four = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
  let two = four.lowHalf.replacing(with: four.highHalf, where: four.highHalf .> four.lowHalf)
  return two[1] > two[0] ? two[1] : two[0]
}

/// e^x, relative error ≤ 2 ulp on [-87.3, 88.3]; 0 below -87.3 (so masked
/// logits of -inf or -1e4 give exactly 0), +inf above 88.72, NaN for NaN.
@inline(__always) @usableFromInline
func exp8(_ x: Float8) -> Float8 {
  let lower: Float = -87.33654, upper: Float = 88.37626
  var clamped = x.replacing(with: Float8(repeating: upper), where: x .> upper)
  clamped = clamped.replacing(with: Float8(repeating: lower), where: clamped .< lower)
  let (r, scale) = expReduction(clamped)
  var result = expOfReduced(r) * scale
  result = result.replacing(with: 0, where: x .< lower)
  result = result.replacing(with: .infinity, where: x .> 88.72283)
  return result
}

/// e^x for x ≤ 0, such as a logit minus its row's maximum (softmax): as
/// `exp8` down to -87.68; below it, where e^x is subnormal, exactly 0 (so
/// masked logits of -inf give 0); NaN for NaN. Four instructions fewer than
/// `exp8`: clamping at -88 makes the reduction's n exactly -127, whose scale
/// 2^n then has a zero bit pattern, so no compare-and-mask is needed.
@inline(__always) @usableFromInline
func expNonPositive8(_ x: Float8) -> Float8 {
  let (r, scale) = expReduction(max8(x, Float8(repeating: -88)))
  return expOfReduced(r) * scale
}

/// Splits x (in [-88, 88.4]) as x = n·ln 2 + r with |r| ≤ ½ ln 2 and n an
/// integer; returns r and 2^n built in the exponent bits (bit pattern 0 for
/// n = -127). n = round(x / ln 2) by the 1.5·2^23 shift, whose integer sits in
/// the low bits; ln 2 in two parts (Cody–Waite) keeps r exact to a few ulp.
@inline(__always) @usableFromInline
func expReduction(_ x: Float8) -> (r: Float8, scale: Float8) {
  let shift = Float8(repeating: 12_582_912)
  let shifted = fma8(x, Float8(repeating: 1.442_695_04), shift)
  let n = shifted - shift
  var r = fma8(n, Float8(repeating: -0.693_359_375), x)
  r = fma8(n, Float8(repeating: 2.121_944_4e-4), r)
  let exponent = unsafeBitCast(shifted, to: Int8x32.self) &- unsafeBitCast(shift, to: Int8x32.self)
  return (r, unsafeBitCast((exponent &+ 127) &<< 23, to: Float8.self))
}

/// e^r for |r| ≤ ½ ln 2 as 1 + r + r²·P(r), P of degree 4 in Estrin's form
/// (Horner's dependent chain made exp latency-bound in softmax loops). P's
/// coefficients: a least-squares fit of (e^r − 1 − r)/r² on 4000 Chebyshev
/// nodes, weighted to the relative error of e^r; max relative error
/// 3.8e-9 with the coefficients rounded to Float (1/16 ulp), so the result's
/// error is its final roundings. Cephes' degree-5 P cost one more FMA for no
/// visible accuracy.
@inline(__always) @usableFromInline
func expOfReduced(_ r: Float8) -> Float8 {
  let r2 = r * r
  let p01 = fma8(Float8(repeating: 0.166_665_18), r, Float8(repeating: 0.499_999_88))
  let p23 = fma8(Float8(repeating: 0.008_368_919), r, Float8(repeating: 0.041_669_533))
  let p = fma8(fma8(Float8(repeating: 0.001_375_140_9), r2, p23), r2, p01)
  return fma8(p, r2, r) + 1
}

/// Natural logarithm for positive normal x, relative error ≤ 2 ulp
/// (`LaneMath.log`, shared with the 16-lane random fills).
@inline(__always) @usableFromInline
func log8(_ x: Float8) -> Float8 { LaneMath.log(x) }

/// √x for positive normal x, relative error ≤ 2 ulp (`LaneMath.squareRoot`).
@inline(__always) @usableFromInline
func sqrt8(_ x: Float8) -> Float8 { LaneMath.squareRoot(x) }

/// (sin θ, cos θ) for |θ| ≤ 8π, absolute error ≤ 2e-7 (`LaneMath.sinCos`).
@inline(__always) @usableFromInline
func sinCos8(_ theta: Float8) -> (sin: Float8, cos: Float8) { LaneMath.sinCos(theta) }

/// erfc(x), relative error ≤ 1.2e-7 + exp's error for all finite x
/// (Numerical Recipes' Chebyshev fit, `erfcc`).
@inline(__always) @usableFromInline
func erfc8(_ x: Float8) -> Float8 {
  // |x| and the sign as bit masks: SIMD comparisons (`.<` with `replacing`)
  // build their masks lane by lane and made GELU four times slower.
  let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
  let z = unsafeBitCast(bits & 0x7FFF_FFFF, to: Float8.self)
  let negative = unsafeBitCast(unsafeBitCast(x, to: Int8x32.self) &>> 31, to: SIMD8<UInt32>.self)  // all ones where x < 0
  let t = 1 / fma8(z, Float8(repeating: 0.5), Float8(repeating: 1))
  var p = Float8(repeating: 0.170_872_77)
  p = fma8(p, t, Float8(repeating: -0.822_152_23))
  p = fma8(p, t, Float8(repeating: 1.488_515_87))
  p = fma8(p, t, Float8(repeating: -1.135_203_98))
  p = fma8(p, t, Float8(repeating: 0.278_868_07))
  p = fma8(p, t, Float8(repeating: -0.186_288_06))
  p = fma8(p, t, Float8(repeating: 0.096_784_18))
  p = fma8(p, t, Float8(repeating: 0.374_091_96))
  p = fma8(p, t, Float8(repeating: 1.000_023_68))
  p = fma8(p, t, Float8(repeating: -1.265_512_23))
  let positive = t * exp8(fma8(-z, z, p))
  let positiveBits = unsafeBitCast(positive, to: SIMD8<UInt32>.self)
  let reflectedBits = unsafeBitCast(2 - positive, to: SIMD8<UInt32>.self)
  return unsafeBitCast((positiveBits & ~negative) | (reflectedBits & negative), to: Float8.self)
}
