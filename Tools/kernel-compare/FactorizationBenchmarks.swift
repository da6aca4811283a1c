import RankKernels

/// Thin QR (R only, as mc-generic uses it) and singular values at the sizes
/// of a BERT-base token matrix: 768×16 is Xᵀ for 16 tokens, 3072×128 the MLP
/// activations of 128 tokens; 16×16 and 128×128 are their triangular factors.
func factorizationCases(backends: [any LinearAlgebraBackend], threads: Int) -> [BenchmarkCase] {
  var cases: [BenchmarkCase] = []
  for (m, n) in [(768, 16), (3072, 128)] {
    let a = randomBuffer(m * n, seed: 5), r = permanentBuffer(n * n, of: Float.self)
    // Householder QR: 2mn² − 2n³/3 flops for R.
    let flops = 2.0 * Double(m * n * n) - 2.0 * Double(n * n * n) / 3
    cases.append(
      BenchmarkCase(
        kernel: "qr", shape: "\(m)x\(n)", work: flops, unit: .gflops,
        contenders: perBackend(backends) { backend in
          householderQR(m: m, n: n, a: a, lda: n, r: r, ldr: n, threads: threads, backend: backend)
        }))
  }
  for n in [16, 128] {
    let a = randomBuffer(n * n, seed: 6), values = permanentBuffer(n, of: Double.self)
    // No standard flop count exists for an SVD (iterative); report the
    // conventional 4n³ of a values-only dense SVD so rates are comparable.
    cases.append(
      BenchmarkCase(
        kernel: "singular_values", shape: "\(n)x\(n)", work: 4.0 * Double(n * n * n), unit: .gflops,
        contenders: perBackend(backends) { backend in
          singularValues(m: n, n: n, a: a, lda: n, into: values, backend: backend)
        }))
  }
  return cases
}

/// The Float64 Gram matrix X·Xᵀ that the sketch engine and the rank metrics
/// factor (16 tokens × width 768 or 3072); Swift only (BLAS has no
/// mixed-precision SYRK).
func gramCases() -> [BenchmarkCase] {
  [(16, 768), (16, 3072), (128, 768)].map { n, k in
    let x = randomBuffer(n * k, seed: 7), gram = permanentBuffer(n * n, of: Double.self)
    return BenchmarkCase(
      kernel: "gram_f64", shape: "\(n)x\(k)", work: Double(n * (n + 1) * k), unit: .gflops,
      contenders: [("swift", { gramMatrix(rows: n, columns: k, x: x, ldx: k, gram: gram, ldg: n) })])
  }
}
