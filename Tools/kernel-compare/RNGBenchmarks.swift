import RankKernels

/// Normal random numbers in bulk (a BERT-base weight matrix's worth per call).
func rngCases(threads: Int) -> [BenchmarkCase] {
  let count = 768 * 3072
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
