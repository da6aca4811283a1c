import RankKernels

/// SGEMM M×K×N shapes at BERT-base sizes (M tokens, K×N weight matrix).
let gemmShapes: [(m: Int, k: Int, n: Int)] = [
  (16, 768, 768), (128, 768, 768), (128, 768, 3072), (128, 3072, 768), (512, 768, 768),
]

/// Fills a buffer with reproducible values in [-1, 1).
func randomBuffer(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
  let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
  RandomStream(seed: seed).fillUniform(buffer, count: count)
  for i in 0..<count { buffer[i] = 2 * buffer[i] - 1 }
  return buffer
}

func benchmarkGEMM(
  backends: [any LinearAlgebraBackend], threads: Int, rounds: Int, roundSeconds: Double,
  shapeFilter: String?
) -> [Measurement] {
  var results: [Measurement] = []
  for shape in gemmShapes {
    let (m, k, n) = shape
    if let shapeFilter, !"\(m)x\(k)x\(n)".contains(shapeFilter) { continue }
    let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    let contenders = backends.map { backend in
      {
        sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, threads: threads, backend: backend)
      }
    }
    let seconds = bestSecondsPerCall(contenders: contenders, rounds: rounds, roundSeconds: roundSeconds)
    let flops = 2.0 * Double(m * n * k)
    let openBLASSeconds = zip(backends, seconds).first { $0.0.name == "openblas" }?.1
    for (backend, time) in zip(backends, seconds) {
      results.append(
        Measurement(
          kernel: "sgemm", shape: "\(m)x\(k)x\(n)", backend: backend.name, threads: threads,
          seconds: time, rate: flops / time * 1e-9, rateUnit: "GFLOP/s",
          ratioToOpenBLAS: openBLASSeconds.map { $0 / time }))
    }
  }
  return results
}
