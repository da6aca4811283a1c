import RankKernels

/// Random numbers in bulk at two sizes: a BERT-base weight matrix's worth per
/// call (9.4 MB, written out to memory), and the Gram engine's typical draw at
/// n = 16 (the MLP's 16 × 3072 hidden entries, 192 KiB, resident in L2), where
/// the generator's arithmetic rather than the stores bounds the rate.
func rngCases(threads: Int) -> [BenchmarkCase] {
  [768 * 3072, 16 * 3072].flatMap { count -> [BenchmarkCase] in
    let buffer = permanentBuffer(count, of: Float.self)
    let stream = RandomStream(seed: 1, stream: 2)
    return [
      BenchmarkCase(
        kernel: "rng_normal", shape: "\(count)", work: Double(count), unit: .giganumbers,
        contenders: [("swift", { stream.fillNormal(buffer, count: count, threads: threads) })]),
      BenchmarkCase(
        kernel: "rng_uniform", shape: "\(count)", work: Double(count), unit: .giganumbers,
        contenders: [("swift", { stream.fillUniform(buffer, count: count, threads: threads) })]),
    ]
  }
}
