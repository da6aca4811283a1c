#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import _RankKernelsCPU

/// Which form of GELU to compute.
public enum GELUApproximation: Sendable, Hashable, CaseIterable {
  /// The exact form x·Φ(x) = ½·x·(1 + erf(x/√2)), as BERT uses.
  case none
  /// ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as GPT-2 uses.
  case tanh
}

/// GELU of `count` elements, `output[i] = gelu(input[i])`; `output` may be
/// `input` (in place).
///
/// Both forms are backward stable: the relative error is below
/// 4e-7 + 4u·κ(x), where κ(x) = |x·f′(x)/f(x)| is GELU's condition number
/// (≈ 1 for x ≥ 0, ≈ x² in the negative tail, where GELU(x) → 0⁻). No
/// cancellation occurs there: the erf form goes through erfc(|x|/√2) rather
/// than 1 + erf, the tanh form through 1/(1 + e^(−2z)). NaN maps to NaN.
public func gelu(
  _ input: UnsafePointer<Float>, count: Int, approximation: GELUApproximation = .none,
  output: UnsafeMutablePointer<Float>
) {
  requireNonNegative("gelu", "count", count)
  // One loop per form, the form chosen outside: a nested function switching
  // inside the loop was compiled as an out-of-line call per vector.
  switch approximation {
  case .none: geluErf(input, count: count, output: output)
  case .tanh: applyElementwise(input, count: count, output: output, geluTanh8)
  }
}

/// The erf form's loop: the vector formula for every element, with inputs
/// below −6 passed through unchanged; then, only if there were any, a scalar
/// pass over the output replaces them (GELU is never below −0.17, so a value
/// below −6 there is an input left for it; in place too). A branch to the
/// scalar path inside the vector loop made the compiler split the whole
/// vector formula into scalar and 128-bit pieces, at half the speed.
private func geluErf(_ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
  var anyTail = SIMD8<Int32>()
  applyElementwise(input, count: count, output: output) { x in
    let (y, tail) = geluErf8(x)
    anyTail |= tail
    return y
  }
  if rankkernels_any_sign_bit8(anyTail) != 0 {
    for j in 0..<count where output[j] < -6 { output[j] = geluErfTail(output[j]) }
  }
}

/// x·Φ(x) written as max(x, 0) − |x|·Q(|x|), Q(u) = ½·erfc(u/√2) = 1 − Φ(u):
/// one FMA for both signs, and no 1 − Q rounded on its own. Q(u) =
/// e^(−u²/2)·R(u), R a (4, 4) rational in u fitted on [0, 6]
/// (Tools/fits/gelu_erf_fit.py: relative error 2.1e-8 with its Float32
/// coefficients, all positive, so neither polynomial cancels). −u²/2 is
/// split exactly into h + l with an FMA and l joins the exponential's reduced
/// argument, so e^(h + l) sees no rounding of the square (which alone would
/// cost u²/2 ulp: 18 at u = 6). Beyond u = 6, Q(u)·u is below half an ulp of
/// u, so positive x give x; x < −6 (GELU below 6e-9 in magnitude, down to
/// subnormals) come back unchanged with their lanes flagged in the mask, for
/// the caller's scalar Float64 pass; NaN gives NaN. 24 FMA-pipe operations
/// and a division per 8 elements (the previous form: 26 and a division, plus
/// the blend of 1 − Q and Q).
@inline(__always)
private func geluErf8(_ x: Float8) -> (Float8, SIMD8<Int32>) {
  let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
  let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: Float8.self)
  let u = magnitude.replacing(with: 6, where: magnitude .> 6)
  let minusHalfU = -0.5 * u
  let h = minusHalfU * u
  let l = fma8(minusHalfU, u, -h)
  let (reduced, scale) = expReduction(h)
  let e = expOfReduced(reduced + l) * scale
  // Estrin's form: pairs of terms, then u².
  let u2 = u * u
  let numeratorLow = fma8(u, Float8(repeating: 0.308_777_2), Float8(repeating: 0.5))
  let numeratorHigh = fma8(u, Float8(repeating: 0.011_115_604), Float8(repeating: 0.092_213_646))
  let numerator = fma8(fma8(u2, Float8(repeating: 1.297_619_5e-6), numeratorHigh), u2, numeratorLow)
  let denominatorLow = fma8(u, Float8(repeating: 1.415_438_3), Float8(repeating: 1))
  let denominatorHigh = fma8(u, Float8(repeating: 0.229_746_22), Float8(repeating: 0.813_792_5))
  let denominator = fma8(fma8(u2, Float8(repeating: 0.027_962_768), denominatorHigh), u2, denominatorLow)
  let q = e * (numerator / denominator)
  let tail = x .< -6
  let result = fma8(-u, q, max8(x, Float8())).replacing(with: x, where: tail)
  return (result, unsafeBitCast(tail, to: SIMD8<Int32>.self))
}

/// GELU(x) for x < −6 in Float64 (libm's erfc), rounded once: 0 at −inf.
@inline(never)
private func geluErfTail(_ x: Float) -> Float {
  if x == -.infinity { return -0.0 }
  let wide = Double(x)
  return Float(wide * 0.5 * erfc(-wide * 0.5.squareRoot()))
}

/// ½(1 + tanh z) = 1 / (1 + e^(−2z)): no cancellation for z ≪ 0.
@inline(__always)
private func geluTanh8(_ x: Float8) -> Float8 {
  let z = x * fma8(x * x, Float8(repeating: 0.044_715 * 0.797_884_56), Float8(repeating: 0.797_884_56))
  return x / (1 + exp8(-2 * z))
}

/// output[i] = f(input[i]) eight at a time, the tail through a padded vector.
@inline(__always)
private func applyElementwise(
  _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>, _ f: (Float8) -> Float8
) {
  var i = 0
  while i + 8 <= count {
    storeVector(f(loadVector(input + i)), output + i)
    i += 8
  }
  if i < count {
    var tail = Float8()
    for lane in 0..<(count - i) { tail[lane] = input[i + lane] }
    let result = f(tail)
    for lane in 0..<(count - i) { output[i + lane] = result[lane] }
  }
}

/// Softmax of each row of a row-major `rows × columns` matrix, in place:
/// `x[i, j] ← exp(x[i, j] − max_j x[i, j]) / Σ_j exp(…)`.
///
/// Subtracting the row maximum keeps logits of any magnitude (±1e4) finite.
/// Entries of −inf get probability 0; a row that is all −inf, or contains NaN
/// or +inf, becomes NaN.
public func softmaxRows(rows: Int, columns: Int, values: UnsafeMutablePointer<Float>, threads: Int = 1) {
  requireNonNegative("softmaxRows", "rows", rows)
  if columns < 1 { invalidArgument("softmaxRows", "columns must be >= 1, got columns = \(columns)") }
  forEachRowBlock(rows: rows, columns: columns, threads: threads) { row in
    let x = values + row * columns
    let maximum = rowMaximum(UnsafePointer(x), count: columns)
    let total = exponentiateShifted(x, count: columns, shift: maximum)
    scaleRow(x, count: columns, by: 1 / total)
  }
}

/// max_j x[j] (NaN-propagating is not needed by callers: a NaN row ends NaN
/// through the exponentials anyway).
@inline(__always)
internal func rowMaximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
  var best = Float8(repeating: -.infinity)
  var j = 0
  while j + 8 <= count { best = max8(best, loadVector(x + j)); j += 8 }
  var result = horizontalMax(best)
  while j < count { if x[j] > result { result = x[j] }; j += 1 }
  return result
}

/// x[j] ← exp(x[j] − shift), returning Σ_j of the new values; shift must be
/// ≥ every x[j] (a row maximum), so that the cheaper `expNonPositive8` applies.
@inline(__always)
internal func exponentiateShifted(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
  let shiftV = Float8(repeating: shift)
  var sum = Float8()
  var j = 0
  while j + 8 <= count {
    let e = expNonPositive8(loadVector(x + j) - shiftV)
    storeVector(e, x + j)
    sum += e
    j += 8
  }
  if j < count {
    var tail = Float8(repeating: -.infinity)
    for lane in 0..<(count - j) { tail[lane] = x[j + lane] }
    let e = expNonPositive8(tail - shiftV)
    for lane in 0..<(count - j) { x[j + lane] = e[lane] }
    sum += e
  }
  return horizontalSum(sum)
}

@inline(__always)
internal func scaleRow(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
  let factorV = Float8(repeating: factor)
  var j = 0
  while j + 8 <= count { storeVector(loadVector(x + j) * factorV, x + j); j += 8 }
  while j < count { x[j] *= factor; j += 1 }
}
