import RankKernels

/// SGEMM M×K×N shapes at BERT-base sizes (M tokens, K×N weight matrix).
let gemmShapes: [(m: Int, k: Int, n: Int)] = [
  (16, 768, 768), (128, 768, 768), (128, 768, 3072), (128, 3072, 768), (512, 768, 768),
]

func gemmCases(backends: [any LinearAlgebraBackend], threads: Int) -> [BenchmarkCase] {
  var cases = gemmShapes.map { m, k, n in
    let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2)
    let c = permanentBuffer(m * n, of: Float.self)
    return BenchmarkCase(
      kernel: "sgemm", shape: "\(m)x\(k)x\(n)", work: 2.0 * Double(m * n * k), unit: .gflops,
      contenders: perBackend(backends) { backend in
        sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, threads: threads, backend: backend)
      })
  }
  // The sketch engine's products: L (16×16) · G (16×768), one per head batch
  // entry; batch 12·4 = 48 (a layer's four projections over 12 heads' worth).
  let (m, k, n, batch) = (16, 16, 768, 48)
  let a = randomBuffer(batch * m * k, seed: 3), b = randomBuffer(batch * k * n, seed: 4)
  let c = permanentBuffer(batch * m * n, of: Float.self)
  cases.append(
    BenchmarkCase(
      kernel: "sgemm_strided_batched", shape: "\(batch)x\(m)x\(k)x\(n)", work: 2.0 * Double(batch * m * n * k), unit: .gflops,
      contenders: perBackend(backends) { backend in
        sgemmStridedBatched(
          m: m, n: n, k: k, a: a, lda: k, strideA: m * k, b: b, ldb: n, strideB: k * n,
          c: c, ldc: n, strideC: m * n, batchCount: batch, threads: threads, backend: backend)
      }))
  return cases
}

/// One attention head's products at 16 tokens (scores Q·Kᵀ and P·V): the
/// size where per-call overhead, not arithmetic, decides.
func tinyGEMMCases(backends: [any LinearAlgebraBackend]) -> [BenchmarkCase] {
  let n = 16
  let a = randomBuffer(n * n, seed: 13), b = randomBuffer(n * n, seed: 14), c = permanentBuffer(n * n, of: Float.self)
  return [Transpose.noTranspose, .transpose].map { transB in
    BenchmarkCase(
      kernel: "sgemm", shape: "\(n)x\(n)x\(n)" + (transB == .transpose ? "_bT" : ""), work: 2.0 * Double(n * n * n), unit: .gflops,
      contenders: perBackend(backends) { backend in
        sgemm(transB: transB, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n, threads: 1, backend: backend)
      })
  }
}
