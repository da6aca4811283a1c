// The README's library snippets, compiled and run (CI: `swift run -c release rankkernels-examples`).
// The lines between "README begin" and "README end" are the README's first Swift
// block, verbatim; Tools/check-readme-snippets.sh fails CI when the two differ.
// Around them: the buffers the snippet assumes, and checks of its results.
import RankKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func buffer(_ count: Int, seed: UInt64, standardDeviation: Float = 1) -> UnsafeMutablePointer<Float> {
  let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
  RandomStream(seed: seed, stream: 0).fillNormal(pointer, count: count, standardDeviation: standardDeviation)
  return pointer
}
func require(_ condition: Bool, _ message: String) {
  if !condition {
    print("rankkernels-examples: FAIL: \(message)")
    exit(1)
  }
}

let x = buffer(128 * 768, seed: 1), w = UnsafeMutablePointer<Float>.allocate(capacity: 768 * 3072)
let c = UnsafeMutablePointer<Float>.allocate(capacity: 128 * 3072)
let q = buffer(4 * 128 * 768, seed: 2), k = buffer(4 * 128 * 768, seed: 3), v = buffer(4 * 128 * 768, seed: 4)
let o = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 128 * 768)
let entropy = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 12 * 128)
let sublayerOutput = buffer(128 * 768, seed: 5), y = UnsafeMutablePointer<Float>.allocate(capacity: 128 * 768)
let gamma = [Float](repeating: 1, count: 768), beta = [Float](repeating: 0, count: 768)
let tokenBuffer = buffer(16 * 768, seed: 6)
let tokens = Array(UnsafeBufferPointer(start: tokenBuffer, count: 16 * 768))  // 16 Gaussian tokens

// README begin
// C (128×3072) = X (128×768) · W (768×3072), two threads.
sgemm(m: 128, n: 3072, k: 768, a: x, lda: 768, b: w, ldb: 3072, c: c, ldc: 3072, threads: 2)

// Weights drawn from N(0, 0.02²): element p of (seed, stream) is the same
// whatever the thread count or the way the buffer is split.
RandomStream(seed: 42, stream: 7).fillNormal(w, count: 768 * 3072, standardDeviation: 0.02, threads: 2)

// Attention over Q, K, V laid out [batch, seq, heads·64], with per-row entropies.
let shape = AttentionShape(batch: 4, sequenceLength: 128, heads: 12, headDimension: 64)
multiHeadAttention(shape: shape, query: q, key: k, value: v, output: o, rowEntropy: entropy, threads: 2)

// Post-LN block: y = LayerNorm(x + sublayer(x)).
addLayerNorm(rows: 128, columns: 768, input: x, residual: sublayerOutput,
             gamma: gamma, beta: beta, eps: 1e-12, output: y)

// Numerical rank of a token matrix (16×768), in Float64.
let sigma = singularValues(of: tokens, rows: 16, columns: 768)
let rank = sigma.filter { $0 > sigma[0] * 768 * Double(Float.ulpOfOne) }.count
// README end

// The product, checked at a few entries against a Float64 dot product (w was
// filled after the first call, so multiply again).
sgemm(m: 128, n: 3072, k: 768, a: x, lda: 768, b: w, ldb: 3072, c: c, ldc: 3072, threads: 2)
for (i, j) in [(0, 0), (17, 1000), (127, 3071)] {
  var exact = 0.0, magnitude = 0.0
  for p in 0..<768 {
    exact += Double(x[i * 768 + p]) * Double(w[p * 3072 + j])
    magnitude += abs(Double(x[i * 768 + p]) * Double(w[p * 3072 + j]))
  }
  require(abs(Double(c[i * 3072 + j]) - exact) <= 768 * Double(Float.ulpOfOne) * magnitude, "sgemm C[\(i), \(j)]")
}
// The same stream on one thread gives the same numbers.
let w1 = UnsafeMutablePointer<Float>.allocate(capacity: 768 * 3072)
RandomStream(seed: 42, stream: 7).fillNormal(w1, count: 768 * 3072, standardDeviation: 0.02, threads: 1)
require((0..<(768 * 3072)).allSatisfy { w[$0] == w1[$0] }, "RNG depends on the thread count")
// Attention rows are probability-weighted averages of V: finite, entropies in [0, log n].
require((0..<(4 * 128 * 768)).allSatisfy { o[$0].isFinite }, "attention output not finite")
require((0..<(4 * 12 * 128)).allSatisfy { entropy[$0] >= 0 && entropy[$0] <= Float(log(128.0)) + 1e-4 }, "attention entropies outside [0, log n]")
// LayerNorm rows: mean 0, variance 1 (γ = 1, β = 0).
for row in [0, 64, 127] {
  var mean = 0.0, square = 0.0
  for j in 0..<768 { mean += Double(y[row * 768 + j]); square += Double(y[row * 768 + j]) * Double(y[row * 768 + j]) }
  mean /= 768
  require(abs(mean) < 1e-5 && abs(square / 768 - mean * mean - 1) < 1e-3, "LayerNorm row \(row): mean \(mean)")
}
// The token matrix's rows are distinct and generic: full rank.
require(rank == 16, "rank \(rank), expected 16")
print("rankkernels-examples: the README's snippets ran; sgemm, RNG, attention, LayerNorm and rank checked")
