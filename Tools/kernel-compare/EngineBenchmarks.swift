import CollapseLab

/// One mc-generic sample (all default variants, 12 layers, metrics included)
/// with each engine, timed side by side in the same process, one thread per
/// sample as mc-generic runs them. `ratio` in the table is dense ÷ sketch.
func engineCases(sequenceLengths: [Int]) -> [BenchmarkCase] {
  sequenceLengths.map { n in
    var configuration = ModelConfiguration()
    configuration.sequenceLength = n
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
