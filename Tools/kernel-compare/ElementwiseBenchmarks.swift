@_spi(Benchmarking) import RankKernels

/// Memory-bound kernels, reported in GB/s of compulsory traffic (read the
/// input once, write the output once) so they compare with the streaming
/// bandwidth probe: LayerNorm at BERT-base widths, GELU on the MLP's hidden
/// activations.
func elementwiseCases(threads: Int) -> [BenchmarkCase] {
  var cases: [BenchmarkCase] = []
  for rows in [128, 4096] {
    let d = 768
    let x = randomBuffer(rows * d, seed: 11), y = permanentBuffer(rows * d, of: Float.self)
    let gamma = [Float](repeating: 1.1, count: d), beta = [Float](repeating: 0.1, count: d)
    cases.append(
      BenchmarkCase(
        kernel: "layernorm", shape: "\(rows)x\(d)", work: Double(2 * rows * d * 4), unit: .gigabytes,
        contenders: [
          ("swift", {
            layerNorm(rows: rows, columns: d, input: x, gamma: gamma, beta: beta, eps: 1e-12, output: y, threads: threads)
          }),
          // The same bytes through a streaming copy, in the same rounds: the
          // memory system's limit for this size (issue 16: LayerNorm ≥ 80 %).
          ("copy", { MachineProbes.streamCopy(x, y, count: rows * d, threads: threads) }),
        ]))
  }
  for (rows, width) in [(16, 3072), (4096, 3072)] {
    // N(0, 1), about the feed-forward pre-activations of a trained BERT (at
    // mc-generic's initialisation their deviation is ~0.55); the erf form's
    // scalar path for x < −6 then runs once per 10⁹ elements.
    let count = rows * width
    let x = randomBuffer(count, seed: 12), y = permanentBuffer(count, of: Float.self)
    RandomStream(seed: 12).fillNormal(x, count: count)
    for (name, form) in [("gelu", GELUApproximation.none), ("gelu_tanh", .tanh)] {
      cases.append(
        BenchmarkCase(
          kernel: name, shape: "\(rows)x\(width)", work: Double(2 * count * 4), unit: .gigabytes,
          contenders: [("swift", { gelu(x, count: count, approximation: form, output: y) })]))
    }
  }
  return cases
}
