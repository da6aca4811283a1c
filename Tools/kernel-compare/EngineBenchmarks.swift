import CollapseLab
import RankKernels

/// One mc-generic sample (all default variants, 12 layers, metrics included)
/// with each engine, timed side by side in the same process, one thread per
/// sample as mc-generic runs them. `ratio` in the table is dense ÷ sketch.
func engineCases(sequenceLengths: [Int]) -> [BenchmarkCase] {
  sequenceLengths.map { n in
    let configuration = engineConfiguration(sequenceLength: n)
    let engines: [any ForwardEngine] = [DenseEngine(), SketchEngine()]
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

/// After the engine cases: each sample's FLOPs (`SampleWork`), the time they
/// take at the SGEMM rate measured now (Float32 at BERT's 128×768·768×3072,
/// one thread; Float64 at half that rate), the fraction of that limit each
/// engine's measured time reaches, the cost model's estimate beside the
/// measurement, and the engine mc-generic would pick.
func printEngineWork(rows: [Measurement], rounds: Int, json: Bool) {
  let engineRows = rows.filter { $0.kernel == "mc_generic_sample" }
  guard !engineRows.isEmpty else { return }
  let (m, k, n) = (128, 768, 3072)
  let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2), c = permanentBuffer(m * n, of: Float.self)
  let seconds = bestSecondsPerCall(
    contenders: [{ sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, threads: 1) }],
    rounds: rounds, roundSeconds: 0.2)[0]
  let sgemmRate = 2 * Double(m * k * n) / seconds
  if !json {
    print(String(format: "\nSGEMM %dx%dx%d, 1 thread, this run: %.1f GFLOP/s (the limit below; Float64 at half)", m, k, n, sgemmRate * 1e-9))
    print("engine  n     GFLOP f32  GFLOP f64  normals  limit      measured   fraction  model      chosen")
  }
  for row in engineRows {
    guard let length = Int(row.shape.split(separator: "n").last ?? ""), let kind = EngineKind(rawValue: row.backend) else { continue }
    let configuration = engineConfiguration(sequenceLength: length)
    let work = SampleWork(engine: kind, configuration: configuration)
    let limit = work.limitSeconds(sgemmFLOPRate: sgemmRate)
    let chosen = defaultEngine(for: configuration).name == row.backend
    if json {
      print(
        "{\"kernel\": \"mc_generic_work\", \"engine\": \"\(row.backend)\", \"sequence_length\": \(length), \"gflop_float32\": \(work.float32FLOPs * 1e-9), \"gflop_float64\": \(work.float64FLOPs * 1e-9), \"random_numbers\": \(work.randomNumbers), \"sgemm_gflops\": \(sgemmRate * 1e-9), \"limit_seconds\": \(limit), \"measured_seconds\": \(row.seconds), \"fraction_of_limit\": \(limit / row.seconds), \"model_seconds\": \(work.estimatedSeconds()), \"chosen_by_default\": \(chosen)}")
    } else {
      print(
        row.backend.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(format: "%-5d %9.2f  %9.2f  %6.1fM  %8.1f ms %8.1f ms %8.2f  %7.1f ms  %@",
            length, work.float32FLOPs * 1e-9, work.float64FLOPs * 1e-9, work.randomNumbers * 1e-6, limit * 1e3,
            row.seconds * 1e3, limit / row.seconds, work.estimatedSeconds() * 1e3, chosen ? "yes" : ""))
    }
  }
}
