import _RankKernelsAVX512
import _RankKernelsLanes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
  case .tanh: applyInTwoStages(input, count: count, output: output, first: geluTanhFirstStage, second: geluTanhSecondStage)
  }
}

/// The erf form's loop: the vector formula for every element, with inputs
/// below −6 passed through unchanged; then, only if there were any, a scalar
/// pass over the output replaces them (GELU is never below −0.17, so a value
/// below −6 there is an input left for it; in place too). A branch to the
/// scalar path inside the vector loop made the compiler split the whole
/// vector formula into scalar and 128-bit pieces, at half the speed.
private func geluErf(_ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
  // Where the AVX-512 kernels run, whole 16-lane vectors go through the same
  // lanewise code at that width (the same bits), the rest through this loop.
  var largest: UInt32 = 0
  var done = 0
  #if arch(x86_64)
  if CPUFeatures.runsAVX512Kernels {
    done = count - count % 16
    largest = AVX512Elementwise.geluErf(input, count: done, output: output)
  }
  #endif
  var largestBits = SIMD8<UInt32>()
  applyElementwise(input + done, count: count - done, output: output + done) { x in
    largestBits = largerBits(largestBits, x)
    return geluErf8(x)
  }
  // Read as unsigned integers, the bit patterns above −6's are the inputs
  // below −6 (and negative NaNs, which the pass leaves alone).
  if max(largest, largestBits.max()) > (-6 as Float).bitPattern {
    for j in 0..<count where output[j] < -6 { output[j] = geluErfTail(output[j]) }
  }
}

/// The lanewise unsigned maximum of `largest` and x's bit patterns (one
/// `vpmaxud`).
@inline(__always)
private func largerBits(_ largest: SIMD8<UInt32>, _ x: Float8) -> SIMD8<UInt32> {
  let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
  return largest.replacing(with: bits, where: bits .> largest)
}

/// x·Φ(x) for eight lanes: `LaneMath.geluErf` (its comment derives it).
/// 22 multiplies and FMAs and a division per 8 elements, all else integer
/// operations on the bit patterns. The multiplies alone need 11 cycles per 8
/// elements on the two FMA pipes; the loop measures about 12.4, the same in
/// every restructuring tried (PERF.md), so the integer operations that share
/// those pipes are the likely rest.
@inline(__always)
private func geluErf8(_ x: Float8) -> Float8 { LaneMath.geluErf(x) }

/// GELU(x) for x < −6 in Float64 (libm's erfc), rounded once: 0 at −inf.
@inline(never)
private func geluErfTail(_ x: Float) -> Float {
  if x == -.infinity { return -0.0 }
  let wide = Double(x)
  return Float(wide * 0.5 * erfc(-wide * 0.5.squareRoot()))
}

/// ½x(1 + tanh z) = x·σ(2z), σ(t) = 1/(1 + e^(−t)), through e = e^(−2|z|) ≤ 1
/// only: x/(1 + e) for x ≥ 0 and x·e/(1 + e) for x < 0 (z has x's sign). So
/// the exponential never overflows, needs no clamp above, and takes
/// `expNonPositive8`'s shorter path; the negative tail has no cancellation.
/// Where e underflows (x below about −9.9) the result is −0, as before; x is
/// clamped to the finite range in the numerator so that −inf gives −0, not
/// −inf·0. Two stages, split at the exponential's reduced argument (see
/// ``applyInTwoStages(_:count:output:first:second:)``).
@inline(__always)
private func geluTanhFirstStage(_ x: Float8) -> (r: Float8, scale: Float8) {
  let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
  let minusTwoZ = a * fma8(a * a, Float8(repeating: -2 * 0.044_715 * 0.797_884_56), Float8(repeating: -2 * 0.797_884_56))
  // As in `expNonPositive8`: −88 gives n = −127, whose scale's bits are 0.
  return expReduction(max8(minusTwoZ, Float8(repeating: -88)))
}

@inline(__always)
private func geluTanhSecondStage(_ x: Float8, _ stage: (r: Float8, scale: Float8)) -> Float8 {
  let e = expOfReduced(stage.r) * stage.scale
  // The sign bit spread over each lane (an arithmetic shift) is the mask.
  let negative = unsafeBitCast(unsafeBitCast(x, to: SIMD8<Int32>.self) &>> 31, to: SIMDMask<SIMD8<Int32>>.self)
  let numerator = x.replacing(with: max8(x, Float8(repeating: -.greatestFiniteMagnitude)) * e, where: negative)
  return numerator / (1 + e)
}

/// output[i] = second(x, first(x)) for x = input[i], eight at a time: the
/// first stage over a block of 32 vectors (its results kept in a buffer in
/// L1), then the second over the same block; the tail through a padded
/// vector. In place too: each x is read again before its output is written.
///
/// Why: one vector's chain of dependent operations through an exponential
/// and a division is tens of cycles long and makes dozens of vector values
/// (broadcast constants included); with Zen 3's 160 renamed vector
/// registers only a few vectors fit in flight, so a single loop waits on
/// latency. Each stage's chain is about half as long. (A C replica of the
/// tanh form: 3.9 → 3.2 ns per vector.)
@inline(__always)
private func applyInTwoStages<Stage>(
  _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>,
  first: (Float8) -> Stage, second: (Float8, Stage) -> Float8
) {
  let blockVectors = 32
  // Per-thread scratch: a heap buffer per call was one allocation per
  // GELU call on the Monte Carlo samples' path.
  let stages = ScratchArena.current.buffer(.activationStages, count: blockVectors, of: Stage.self)
  var i = 0
  while i &+ 8 <= count {
    let vectors = min(blockVectors, (count &- i) / 8)
    var v = 0
    while v < vectors {
      (stages + v).initialize(to: first(loadVector(input + (i &+ 8 &* v))))
      v &+= 1
    }
    v = 0
    while v < vectors {
      let offset = i &+ 8 &* v
      storeVector(second(loadVector(input + offset), (stages + v).move()), output + offset)
      v &+= 1
    }
    i &+= 8 &* vectors
  }
  // Fewer than 8 left: the padded tail vector.
  applyElementwise(input + i, count: count &- i, output: output + i) { second($0, first($0)) }
}

/// output[i] = f(input[i]) eight at a time, the tail through a padded vector.
@inline(__always)
private func applyElementwise(
  _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>, _ f: (Float8) -> Float8
) {
  var i = 0
  while i &+ 8 <= count {
    storeVector(f(loadVector(input + i)), output + i)
    i &+= 8
  }
  if i < count {
    var tail = Float8()
    for lane in 0..<(count - i) { tail[lane] = input[i + lane] }
    let result = f(tail)
    for lane in 0..<(count - i) { output[i + lane] = result[lane] }
  }
}

/// SwiGLU's gating (Shazeer 2020; Llama's MLP): `output[i] = up[i] · silu(gate[i])`
/// with silu(g) = g / (1 + e^(−g)), for `count` elements; `output` may be
/// `up` or `gate` (in place).
///
/// Relative error a few ulp where silu is well conditioned (g > −10); in the
/// negative tail silu(g) ≈ g·e^g is computed as g / (1 + e^(−g)) with e^(−g)
/// to 2 ulp, so no cancellation occurs; below g ≈ −88.7, e^(−g) overflows and
/// the result is −0·up (silu there is below 1e-36). NaN propagates.
public func swiglu(
  gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>
) {
  requireNonNegative("swiglu", "count", count)
  var i = 0
  while i &+ 8 <= count {
    let g = loadVector(gate + i)
    storeVector(loadVector(up + i) * (g / (exp8(-g) + 1)), output + i)
    i &+= 8
  }
  while i < count {
    let g = gate[i]
    output[i] = up[i] * (g / (1 + expf(-g)))
    i &+= 1
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
