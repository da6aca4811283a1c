import RankKernels

/// Fused multi-head attention against the same attention composed from
/// OpenBLAS calls the way a framework without a fused kernel runs it: per
/// (batch, head), S = Q_h·K_hᵀ/√d_k (sgemm), a separate softmax pass over S
/// (n × n floats written and read back), O_h = S·V_h (sgemm). Batch 4 × 12
/// heads, d_k = 64. Flops counted: 4·n²·d_k per head (two products).
func attentionCases(threads: Int) -> [BenchmarkCase] {
  let batch = 4, heads = 12, dk = 64, width = heads * dk
  return [16, 128, 512].map { n in
    let shape = AttentionShape(batch: batch, sequenceLength: n, heads: heads, headDimension: dk)
    let q = randomBuffer(batch * n * width, seed: 21), k = randomBuffer(batch * n * width, seed: 22)
    let v = randomBuffer(batch * n * width, seed: 23), out = permanentBuffer(batch * n * width, of: Float.self)
    let scores = permanentBuffer(n * n, of: Float.self)
    var contenders: [(name: String, body: () -> Void)] = [
      ("swift", { multiHeadAttention(shape: shape, query: q, key: k, value: v, output: out, threads: threads) })
    ]
    if let openBLAS = Backends.openBLAS {
      let scale = 1 / Float(dk).squareRoot()
      contenders.append(("openblas", {
        for b in 0..<batch {
          for h in 0..<heads {
            let offset = b * n * width + h * dk
            sgemm(
              transB: .transpose, m: n, n: n, k: dk, alpha: scale, a: q + offset, lda: width, b: k + offset, ldb: width,
              c: scores, ldc: n, threads: threads, backend: openBLAS)
            softmaxRows(rows: n, columns: n, values: scores, threads: threads)
            sgemm(
              m: n, n: dk, k: n, a: scores, lda: n, b: v + offset, ldb: width, c: out + offset, ldc: width,
              threads: threads, backend: openBLAS)
          }
        }
      }))
    }
    return BenchmarkCase(
      kernel: "attention", shape: "\(batch)x\(heads)x\(n)x\(dk)", work: 4.0 * Double(batch * heads * n * n * dk), unit: .gflops,
      contenders: contenders)
  }
}
