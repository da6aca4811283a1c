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
  // The Gram engine's two per-layer products at 16 tokens: the metrics'
  // entries [a | F]·[u | Ω]ᵀ (16 × 17 · 17 × 768) and the MLP's factor times
  // its Gaussian block, L (16 × 16, lower-triangular) · Ξ (16 × 3072).
  let (em, ek, en) = (16, 17, 768)
  let ea = randomBuffer(em * ek, seed: 5), eb = randomBuffer(ek * en, seed: 6), ec = permanentBuffer(em * en, of: Float.self)
  cases.append(
    BenchmarkCase(
      kernel: "sgemm", shape: "\(em)x\(ek)x\(en)", work: 2.0 * Double(em * en * ek), unit: .gflops,
      contenders: perBackend(backends) { backend in
        sgemm(m: em, n: en, k: ek, a: ea, lda: ek, b: eb, ldb: en, c: ec, ldc: en, threads: threads, backend: backend)
      }))
  let (tm, tn) = (16, 3072)
  let ta = randomBuffer(tm * tm, seed: 7), tb = randomBuffer(tm * tn, seed: 8), tc = permanentBuffer(tm * tn, of: Float.self)
  cases.append(
    BenchmarkCase(
      kernel: "lower_triangular_product", shape: "\(tm)x\(tm)x\(tn)", work: Double(tm * (tm + 1) * tn), unit: .gflops,
      contenders: perBackend(backends) { backend in
        lowerTriangularProduct(m: tm, n: tn, k: tm, a: ta, lda: tm, b: tb, ldb: tn, c: tc, ldc: tn, threads: threads, backend: backend)
      }))
  return cases
}

/// One attention head's products at 16 tokens (scores Q·Kᵀ and P·V): the
/// size where per-call overhead, not arithmetic, decides.
func tinyGEMMCases(backends: [any LinearAlgebraBackend]) -> [BenchmarkCase] {
  // M×K×N: 16×16×16 both ways; one head's scores Q_h·K_hᵀ (16×64×16, B
  // transposed) and values P·V_h (16×16×64) at 16 tokens; and the sketch
  // engine's per-head factor products at n = 16, batched over 12 heads.
  let shapes: [(m: Int, k: Int, n: Int, transB: Transpose)] = [
    (16, 16, 16, .noTranspose), (16, 16, 16, .transpose), (16, 64, 16, .transpose), (16, 16, 64, .noTranspose),
  ]
  var cases = shapes.map { m, k, n, transB in
    let a = randomBuffer(m * k, seed: 13), b = randomBuffer(k * n, seed: 14), c = permanentBuffer(m * n, of: Float.self)
    let ldb = transB == .transpose ? k : n
    return BenchmarkCase(
      kernel: "sgemm", shape: "\(m)x\(k)x\(n)" + (transB == .transpose ? "_bT" : ""), work: 2.0 * Double(m * n * k), unit: .gflops,
      contenders: perBackend(backends) { backend in
        sgemm(transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: c, ldc: n, threads: 1, backend: backend)
      })
  }
  let (size, heads) = (16, 12)
  let a = randomBuffer(heads * size * size, seed: 15), b = randomBuffer(heads * size * size, seed: 16)
  let c = permanentBuffer(heads * size * size, of: Float.self)
  for transB in Transpose.allCases {
    cases.append(
      BenchmarkCase(
        kernel: "sgemm_strided_batched", shape: "\(heads)x16x16x16" + (transB == .transpose ? "_bT" : ""),
        work: 2.0 * Double(heads * size * size * size), unit: .gflops,
        contenders: perBackend(backends) { backend in
          sgemmStridedBatched(
            transB: transB, m: size, n: size, k: size, a: a, lda: size, strideA: size * size, b: b, ldb: size,
            strideB: size * size, c: c, ldc: size, strideC: size * size, batchCount: heads, threads: 1, backend: backend)
        }))
  }
  return cases
}
