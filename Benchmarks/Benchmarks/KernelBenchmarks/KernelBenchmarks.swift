// Every RankKernels kernel at BERT-base shapes, and one mc-generic sample per
// engine, as package-benchmark benchmarks: wall-clock percentiles, throughput
// and allocations, with baselines that can be saved and compared. Side-by-side
// ratios against OpenBLAS, numpy and the machine's peak come from
// `kernel-compare` (see PERF.md); this suite is for tracking regressions.

import Benchmark
import CollapseLab
import RankKernels

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .microseconds,
    warmupIterations: 3,
    maxDuration: .seconds(2),
    maxIterations: 10_000)
  let threads = Threading.defaultThreadCount
  let backends: [any LinearAlgebraBackend] = [Backends.swift] + (Backends.openBLAS.map { [$0] } ?? [])

  for backend in backends {
    for (m, k, n) in [(16, 768, 768), (128, 768, 768), (128, 768, 3072), (128, 3072, 768), (512, 768, 768)] {
      let a = Matrix(rows: m, columns: k, seed: 1), b = Matrix(rows: k, columns: n, seed: 2)
      let c = Matrix(rows: m, columns: n, seed: 0)
      Benchmark("sgemm \(m)x\(k)x\(n) \(backend.name)") { benchmark in
        for _ in benchmark.scaledIterations {
          sgemm(m: m, n: n, k: k, a: a.base, lda: k, b: b.base, ldb: n, c: c.base, ldc: n, threads: threads, backend: backend)
        }
      }
    }
    let (batch, bm, bk, bn) = (48, 16, 16, 768)
    let ba = Matrix(rows: batch * bm, columns: bk, seed: 3), bb = Matrix(rows: batch * bk, columns: bn, seed: 4)
    let bc = Matrix(rows: batch * bm, columns: bn, seed: 0)
    Benchmark("sgemm_strided_batched \(batch)x\(bm)x\(bk)x\(bn) \(backend.name)") { benchmark in
      for _ in benchmark.scaledIterations {
        sgemmStridedBatched(
          m: bm, n: bn, k: bk, a: ba.base, lda: bk, strideA: bm * bk, b: bb.base, ldb: bn, strideB: bk * bn,
          c: bc.base, ldc: bn, strideC: bm * bn, batchCount: batch, threads: threads, backend: backend)
      }
    }
    for (m, n) in [(768, 16), (3072, 128)] {
      let a = Matrix(rows: m, columns: n, seed: 5), r = Matrix(rows: n, columns: n, seed: 0)
      Benchmark("qr \(m)x\(n) \(backend.name)") { benchmark in
        for _ in benchmark.scaledIterations {
          householderQR(m: m, n: n, a: a.base, lda: n, r: r.base, ldr: n, threads: threads, backend: backend)
        }
      }
    }
    for n in [16, 128] {
      let a = Matrix(rows: n, columns: n, seed: 6)
      let values = UnsafeMutablePointer<Double>.allocate(capacity: n)
      Benchmark("singular_values \(n)x\(n) \(backend.name)") { benchmark in
        for _ in benchmark.scaledIterations { singularValues(m: n, n: n, a: a.base, lda: n, into: values, backend: backend) }
      }
    }
  }

  for n in [16, 128, 512] {
    let shape = AttentionShape(batch: 1, sequenceLength: n, heads: 12, headDimension: 64)
    let q = Matrix(rows: n, columns: 768, seed: 7), k = Matrix(rows: n, columns: 768, seed: 8)
    let v = Matrix(rows: n, columns: 768, seed: 9), out = Matrix(rows: n, columns: 768, seed: 0)
    Benchmark("attention 12 heads n=\(n) d_k=64") { benchmark in
      for _ in benchmark.scaledIterations {
        multiHeadAttention(shape: shape, query: q.base, key: k.base, value: v.base, output: out.base, threads: threads)
      }
    }
  }
  for rows in [128, 4096] {
    let x = Matrix(rows: rows, columns: 768, seed: 10), y = Matrix(rows: rows, columns: 768, seed: 0)
    Benchmark("layernorm \(rows)x768") { benchmark in
      for _ in benchmark.scaledIterations {
        layerNorm(rows: rows, columns: 768, input: x.base, gamma: nil, beta: nil, eps: 1e-12, output: y.base, threads: threads)
      }
    }
  }
  let hidden = Matrix(rows: 16, columns: 3072, seed: 11)
  Benchmark("gelu 16x3072") { benchmark in
    for _ in benchmark.scaledIterations { gelu(hidden.base, count: 16 * 3072, output: hidden.base) }
  }
  for (n, k) in [(16, 768), (16, 3072)] {
    let x = Matrix(rows: n, columns: k, seed: 12)
    let gram = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
    Benchmark("gram_f64 \(n)x\(k)") { benchmark in
      for _ in benchmark.scaledIterations { gramMatrix(rows: n, columns: k, x: x.base, ldx: k, gram: gram, ldg: n) }
    }
  }
  let tall = Matrix(rows: 4096, columns: 768, seed: 13)
  Benchmark("randomized_svd top16 4096x768") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(randomizedSVD(m: 4096, n: 768, a: tall.base, lda: 768, rank: 16, oversampling: 8, powerIterations: 2, seed: 1, threads: threads))
    }
  }
  let count = 768 * 3072
  let numbers = UnsafeMutablePointer<Float>.allocate(capacity: count)
  Benchmark("rng_normal \(count)", configuration: .init(scalingFactor: .one)) { benchmark in
    for _ in benchmark.scaledIterations { RandomStream(seed: 1, stream: 2).fillNormal(numbers, count: count, threads: 1) }
  }

  // One mc-generic sample (BERT-base, 16 tokens, the four default variants),
  // single-threaded as mc-generic runs each sample.
  let configuration = ModelConfiguration()
  for engine in [GramEngine() as any ForwardEngine, SketchEngine(), DenseEngine()] {
    Benchmark("mc_generic_sample \(engine.name)", configuration: .init(metrics: [.wallClock, .throughput], timeUnits: .milliseconds)) { benchmark in
      for iteration in benchmark.scaledIterations {
        blackHole(engine.run(sample: UInt64(iteration), configuration: configuration, seed: 1))
      }
    }
  }
}

/// A row-major Float32 matrix filled with uniform values in [-1, 1), kept for
/// the process's lifetime (benchmarks capture it).
final class Matrix: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
  init(rows: Int, columns: Int, seed: UInt64) {
    base = .allocate(capacity: rows * columns)
    RandomStream(seed: seed).fillUniform(base, count: rows * columns)
    for i in 0..<(rows * columns) { base[i] = 2 * base[i] - 1 }
  }
}
