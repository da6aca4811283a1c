import CollapseLab
import RankKernels

/// One mc-generic sample (all default variants, 12 layers, metrics included)
/// with each engine exact for the configuration (dense, sketch, and gram up
/// to n = 383 at d = 768), timed side by side in the same process, one thread
/// per sample as mc-generic runs them. `ratio` in the table is dense ÷ each.
func engineCases(sequenceLengths: [Int]) -> [BenchmarkCase] {
  sequenceLengths.map { n in
    let configuration = engineConfiguration(sequenceLength: n)
    let engines: [any ForwardEngine] =
      [DenseEngine(), SketchEngine()] + (gramInexactReason(configuration) == nil ? [GramEngine()] : [])
    var sample: UInt64 = 0
    return BenchmarkCase(
      kernel: "mc_generic_sample", shape: "bert-base_n\(n)", work: 1, unit: .samples,
      contenders: engines.map { engine in
        (engine.name, {
          sample &+= 1
          _ = engine.run(sample: sample, configuration: configuration, seed: 1)
        })
      })
  }
}

private func engineConfiguration(sequenceLength n: Int) -> ModelConfiguration {
  var configuration = ModelConfiguration()
  configuration.sequenceLength = n
  return configuration
}

/// After the engine cases, the limit analysis: each sample's FLOPs and random
/// numbers (`SampleWork`), the time they take at the rates measured now
/// (SGEMM at BERT's 128×768·768×3072, one thread, Float64 at half of it;
/// normals from one RandomStream, one thread), the fraction of that limit each
/// engine's measured time reaches, the fewest of any exact engine (the
/// sampler's bound: `bound` and `of bound`), the cost model's estimate beside
/// the measurement, and the engine mc-generic would pick.
func printEngineWork(rows: [Measurement], rounds: Int, json: Bool) {
  let engineRows = rows.filter { $0.kernel == "mc_generic_sample" }
  guard !engineRows.isEmpty else { return }
  let (m, k, n) = (128, 768, 3072)
  let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2), c = permanentBuffer(m * n, of: Float.self)
  let seconds = bestSecondsPerCall(
    contenders: [{ sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, threads: 1) }],
    rounds: rounds, roundSeconds: 0.2)[0]
  let sgemmRate = 2 * Double(m * k * n) / seconds
  let normalCount = 1 << 20
  let normals = permanentBuffer(normalCount, of: Float.self)
  var streamIndex: UInt64 = 0
  let normalSeconds = bestSecondsPerCall(
    contenders: [{
      streamIndex &+= 1
      RandomStream(seed: 1, stream: streamIndex).fillNormal(normals, count: normalCount, threads: 1)
    }],
    rounds: rounds, roundSeconds: 0.2)[0]
  let normalRate = Double(normalCount) / normalSeconds
  /// The time of `work` at this run's rates: its FLOPs and its random numbers.
  func limitSeconds(_ work: SampleWork) -> Double {
    work.limitSeconds(sgemmFLOPRate: sgemmRate) + work.randomNumbers / normalRate
  }
  if !json {
    print(String(format: "\nSGEMM %dx%dx%d, 1 thread, this run: %.1f GFLOP/s (Float64 at half); normals: %.2f G/s", m, k, n, sgemmRate * 1e-9, normalRate * 1e-9))
    print("engine  n     GFLOP f32  GFLOP f64  normals  limit      measured   of limit  bound      of bound  model      chosen")
  }
  for row in engineRows {
    guard let length = Int(row.shape.split(separator: "n").last ?? ""), let kind = EngineKind(rawValue: row.backend) else { continue }
    let configuration = engineConfiguration(sequenceLength: length)
    let work = SampleWork(engine: kind, configuration: configuration)
    let limit = limitSeconds(work)
    let bound = ([EngineKind.dense, .sketch, .gram].filter { inexactReason(of: $0, for: configuration) == nil })
      .map { limitSeconds(SampleWork(engine: $0, configuration: configuration)) }.min() ?? limit
    let chosen = defaultEngine(for: configuration).name == row.backend
    if json {
      print(
        "{\"kernel\": \"mc_generic_work\", \"engine\": \"\(row.backend)\", \"sequence_length\": \(length), \"gflop_float32\": \(work.float32FLOPs * 1e-9), \"gflop_float64\": \(work.float64FLOPs * 1e-9), \"random_numbers\": \(work.randomNumbers), \"sgemm_gflops\": \(sgemmRate * 1e-9), \"normals_per_second\": \(normalRate), \"limit_seconds\": \(limit), \"measured_seconds\": \(row.seconds), \"fraction_of_limit\": \(limit / row.seconds), \"bound_seconds\": \(bound), \"fraction_of_bound\": \(bound / row.seconds), \"model_seconds\": \(work.estimatedSeconds()), \"chosen_by_default\": \(chosen)}")
    } else {
      print(
        row.backend.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(format: "%-5d %9.2f  %9.2f  %6.2fM  %8.2f ms %8.2f ms %8.2f  %7.2f ms %8.2f  %7.2f ms  %@",
            length, work.float32FLOPs * 1e-9, work.float64FLOPs * 1e-9, work.randomNumbers * 1e-6, limit * 1e3,
            row.seconds * 1e3, limit / row.seconds, bound * 1e3, bound / row.seconds, work.estimatedSeconds() * 1e3, chosen ? "yes" : ""))
    }
  }
}
