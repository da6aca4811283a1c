import RankKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The sketch engine's attention sublayer without Q, K or V.
//
// With Y = F·(orthonormal rows) and Gaussian weights (entries N(0, s²)), head
// h's scores are F·(Z_Q·Z_Kᵀ)·Fᵀ·s²/√d_k and its values F·Z_V·s, with Z_Q,
// Z_K, Z_V (n × d_k) iid N(0, 1). For n ≤ d_k:
// - Z_Kᵀ = Q_K·R_K (thin QR) has R_K independent of the Haar Q_K, with the
//   Bartlett law (R_ii = χ(d_k − i), R_ij ~ N(0, 1) above the diagonal), and
//   Z_Q·Q_K is an n × n iid N(0, 1) matrix independent of both; so
//   Z_Q·Z_Kᵀ ~ Z′·R_K with n² + n(n−1)/2 normals and n chi variates instead of
//   2·n·d_k normals.
// - The sublayer output is attended·W_O, and attended enters it only through
//   attended·attendedᵀ = Σ_h A_h·F·(Z_V·Z_Vᵀ)·Fᵀ·A_hᵀ·s², and Z_V·Z_Vᵀ = R_Vᵀ·R_V
//   with R_V Bartlett. So the rows of T = [A_h·F·R_Vᵀ·s]_h (n × H·n) have the
//   same Gram matrix as attended's, and the output is sampled as F_T·G_O with
//   F_T·F_Tᵀ = T·Tᵀ, like every other product of the engine.
// Biases break the first step (the key bias term is not a function of
// Z_Q·Z_Kᵀ), so with random biases, or for n > d_k, the engine falls back to
// explicit Q, K, V products.

extension SketchProjector {
  func attentionSublayer(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration c: ModelConfiguration,
    into output: UnsafeMutablePointer<Float>
  ) -> AttentionStatistics {
    let (t, attention) = attendedHeads(operand, gates: gates, weights: weights, configuration: c)
    project(prepare(t, rows: operand.rows, gram: nil), columns: c.modelDimension, purpose: .output, into: output)
    return attention
  }

  /// A matrix whose Gram matrix has the law of the heads' outputs' before
  /// W_O, given the operand: T (n × H·n) by the shortcut above, or the heads'
  /// outputs themselves (n × d) through explicit products.
  func attendedHeads(
    _ operand: ProjectionOperand, gates: [Float]?, weights: LayerWeights, configuration c: ModelConfiguration
  ) -> (heads: [Float], attention: AttentionStatistics) {
    let n = operand.rows, heads = c.heads, dk = c.headDimension
    // RoPE turns each query and key row by its own position (no longer a
    // function of Z_Q·Z_Kᵀ), and grouped-query heads share Z_K and Z_V
    // between query heads (the per-head factors would be independent): both
    // take explicit products, which stay exact.
    if c.randomBiases || n > dk || operand.inner != n || c.rotaryDimensions > 0 || c.keyValueHeads != c.heads {
      return standardAttendedHeads(operand, projector: self, gates: gates, weights: weights, configuration: c)
    }
    let width = heads * n
    // Every intermediate lives in per-thread scratch; only T is returned.
    let scratch = SampleScratch.current
    let f = scratch.buffer(.attentionFactor, count: n * n, of: Float.self)  // n × n, F·Fᵀ = Y·Yᵀ
    operand.copyInTokenOrder(to: f)
    // Score factors M_h = s²·Z′_h·R_K,h laid side by side: n × (H·n).
    let scoreGaussians = scratch.buffer(.scoreGaussians, count: n * width, of: Float.self)
    stream(.scoreGaussians).fillNormal(scoreGaussians, count: n * width)
    let keyFactors = scratch.buffer(.keyFactors, count: heads * n * n, of: Float.self)
    bartlettFactors(
      count: heads, size: n, degrees: dk, normals: stream(.keyFactors), uniforms: stream(.keyFactorUniforms), tries: gammaTries,
      into: keyFactors)
    let valueFactors = scratch.buffer(.valueFactors, count: heads * n * n, of: Float.self)
    bartlettFactors(
      count: heads, size: n, degrees: dk, normals: stream(.valueFactors), uniforms: stream(.valueFactorUniforms), tries: gammaTries,
      into: valueFactors)
    // Per head: query_h = F·M_h, key_h = F, value_h = F·s·R_Vᵀ, so that
    // query_h·key_hᵀ = F·M_h·Fᵀ and the head output is A_h·F·s·R_Vᵀ = T_h.
    let scoreFactors = scratch.buffer(.scoreFactors, count: n * width, of: Float.self)
    sgemmStridedBatched(
      m: n, n: n, k: n, alpha: scale * scale, a: scoreGaussians, lda: width, strideA: n,
      b: keyFactors, ldb: n, strideB: n * n, c: scoreFactors, ldc: width, strideC: n, batchCount: heads, threads: 1)
    let query = scratch.buffer(.attentionQuery, count: n * width, of: Float.self)
    sgemm(m: n, n: width, k: n, a: f, lda: n, b: scoreFactors, ldb: width, c: query, ldc: width, threads: 1)
    let value = scratch.buffer(.attentionValue, count: n * width, of: Float.self)
    sgemmStridedBatched(
      transB: .transpose, m: n, n: n, k: n, alpha: scale, a: f, lda: n, strideA: 0,
      b: valueFactors, ldb: n, strideB: n * n, c: value, ldc: width, strideC: n, batchCount: heads, threads: 1)
    let key = scratch.buffer(.attentionKey, count: n * width, of: Float.self)
    for i in 0..<n { for h in 0..<heads { (key + i * width + h * n).update(from: f + i * n, count: n) } }
    let entropies = scratch.buffer(.attentionEntropies, count: heads * n, of: Float.self)
    let probabilities = c.attentionSpectra ? scratch.buffer(.attentionProbabilities, count: heads * n * n, of: Float.self) : nil
    // A mask acts on the scores, which the shortcut has exactly in law: it applies unchanged.
    let mask = scratch.buffer(.attentionMask, count: n * n, of: Float.self)
    let masked = c.block.mask.writeAdditiveMask(sequenceLength: n, into: mask)
    var t = RecycledArrays.current.headOutput(count: n * width) { out in
      multiHeadAttention(
        shape: AttentionShape(batch: 1, sequenceLength: n, heads: heads, headDimension: n),
        query: query, key: key, value: value, mask: masked ? mask : nil, scale: 1 / Float(dk).squareRoot(),
        output: out, probabilities: probabilities, rowEntropy: entropies, threads: 1)
    }
    // PG-OP: diag(g_h)·T_h has the Gram matrix of the gated head outputs
    // diag(g_h)·A_h·Z_V,h, so gating T's head blocks keeps the identity exact.
    if let gates { applyHeadGates(&t, gates: gates, rows: n, headCount: heads, headWidth: n) }
    let attention = AttentionStatistics(
      rowEntropies: UnsafeBufferPointer(start: entropies, count: heads * n),
      probabilities: probabilities.map { UnsafeBufferPointer(start: $0, count: heads * n * n) },
      heads: heads, sequenceLength: n)
    return (t, attention)
  }
}

/// `count` independent upper-triangular n × n matrices (row-major, one after
/// another) distributed as the R factor, with positive diagonal, of the thin
/// QR of a `degrees × size` matrix of iid N(0, 1) entries (degrees ≥ size):
/// R_ii = χ(degrees − i), R_ij ~ N(0, 1) for j > i, all independent
/// (Bartlett decomposition).
///
/// Off-diagonal entries take positions 0..<count·n(n−1)/2 of `normals`; the
/// chi variates come from Marsaglia–Tsang gamma sampling with four tries each
/// drawn in bulk after them (the normals) and from `uniforms`, and, in the
/// rare case (< 1e-6) that all four are rejected, further tries at positions
/// reserved per variate. Rejection sampling with a fixed position per try is
/// exact and keeps every value a function of its position.
///
/// `tries` sets how many tries per variate are drawn in bulk (the rest come
/// one at a time): any count gives the same law; the sketch engine keeps 4 so
/// that its numbers do not change, the Gram engine takes 1 (a try is accepted
/// with probability above 0.98 at the degrees it uses).
func bartlettFactors(count: Int, size n: Int, degrees: Int, normals: RandomStream, uniforms: RandomStream, tries: Int = 4) -> [Float] {
  uninitializedFloats(count * n * n) {
    bartlettFactors(count: count, size: n, degrees: degrees, normals: normals, uniforms: uniforms, tries: tries, into: $0)
  }
}

/// ``bartlettFactors(count:size:degrees:normals:uniforms:tries:)`` written
/// to `r` (count·n² floats, zero below the diagonals); its bulk draws go to
/// per-thread scratch.
func bartlettFactors(
  count: Int, size n: Int, degrees: Int, normals: RandomStream, uniforms: RandomStream, tries: Int = 4,
  into r: UnsafeMutablePointer<Float>
) {
  precondition(degrees >= n, "Bartlett factors need degrees (\(degrees)) >= size (\(n))")
  r.update(repeating: 0, count: count * n * n)
  let offDiagonal = n * (n - 1) / 2
  let variates = count * n
  let scratch = SampleScratch.current
  let above = scratch.buffer(.bartlettOffDiagonal, count: count * offDiagonal, of: Float.self)
  let tryNormals = scratch.buffer(.bartlettTryNormals, count: variates * tries, of: Float.self)
  let tryUniforms = scratch.buffer(.bartlettTryUniforms, count: variates * (tries + 1), of: Float.self)
  normals.fillNormal(above, count: count * offDiagonal)
  let tryStart = UInt64(count * offDiagonal)
  normals.fillNormal(tryNormals, count: variates * tries, startingAt: tryStart)
  uniforms.fillUniform(tryUniforms, count: variates * (tries + 1))
  // Positions from here on are reserved for the (rare) further tries.
  let fallbackStart = tryStart + UInt64(variates * tries)
  // The entries above the diagonals, in position order: row i of matrix m
  // takes the next n − 1 − i (one copy per row; element by element, the
  // index arithmetic cost a third of this function).
  for m in 0..<count {
    var next = m * offDiagonal
    for i in 0..<n {
      let length = n - 1 - i
      (r + (m * n * n + i * n + i + 1)).update(from: above + next, count: length)
      next += length
    }
  }
  // Diagonal entry i has the same shape in every matrix: its Marsaglia–Tsang
  // constants (a division and a square root) are computed once, not per matrix.
  for i in 0..<n {
    let shape = Double(degrees - i) / 2
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    for m in 0..<count {
      let variate = m * n + i
      // The first try inline (the same arithmetic as sampleGamma's, so the
      // same value): accepted above 98 % of the time, it skips the closures.
      if shape >= 1, tries > 0,
        let accepted = marsagliaTsangTry(
          d: d, c: c, x: Double(tryNormals[variate * tries]), u: Double(tryUniforms[variate * (tries + 1)]))
      {
        r[m * n * n + i * n + i] = Float((2 * accepted).squareRoot())
        continue
      }
      let gamma = sampleGamma(
        shape: shape,
        normal: { k in
          k < tries ? Double(tryNormals[variate * tries + k])
            : normals.normalReference(at: fallbackStart + UInt64(variate) << 20 + UInt64(k))
        },
        uniform: { k in
          k < tries + 1 ? Double(tryUniforms[variate * (tries + 1) + k])
            : Double(uniforms.uniform(at: UInt64(variates * (tries + 1)) + UInt64(variate) << 20 + UInt64(k)))
        })
      r[m * n * n + i * n + i] = Float((2 * gamma).squareRoot())  // χ(ν) = √(2·Gamma(ν/2))
    }
  }
}

/// Gamma(shape, 1) by Marsaglia & Tsang (2000): try k uses normal(k) and
/// uniform(k); for shape < 1, Gamma(shape + 1)·U^(1/shape) with U = uniform(0)
/// and the tries shifted by one uniform.
func sampleGamma(shape: Double, normal: (Int) -> Double, uniform: (Int) -> Double) -> Double {
  if shape < 1 {
    let boosted = sampleGamma(shape: shape + 1, normal: normal, uniform: { uniform($0 + 1) })
    return boosted * pow(uniform(0), 1 / shape)
  }
  let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
  var k = 0
  while true {
    let x = normal(k)
    // The uniform is drawn only when the try gets that far, as before.
    if 1 + c * x > 0, let accepted = marsagliaTsangTry(d: d, c: c, x: x, u: uniform(k)) { return accepted }
    k += 1
  }
}

/// One Marsaglia–Tsang try with d = shape − 1/3, c = 1/√(9d), normal x and
/// uniform u: the gamma variate d·v, or nil when the try is rejected.
@inline(__always)
func marsagliaTsangTry(d: Double, c: Double, x: Double, u: Double) -> Double? {
  let base = 1 + c * x
  guard base > 0 else { return nil }
  let v = base * base * base
  // The squeeze u < 1 − 0.0331·x⁴ accepts ~98 % of tries without logs;
  // it implies the exact test, so the accepted values are the same.
  if u < 1 - 0.0331 * (x * x) * (x * x) { return d * v }
  if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
  return nil
}
