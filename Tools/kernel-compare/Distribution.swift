import RankKernels

/// Per-call latency percentiles of SGEMM at one shape, for each backend: the
/// best-round figures in the table hide tails (a late worker thread), these
/// show them.
func printLatencyPercentiles(m: Int, k: Int, n: Int, threads: Int, calls: Int = 300) {
  let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2)
  let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
  defer { c.deallocate() }
  let quantiles = [0.0, 0.1, 0.5, 0.9, 0.99]
  print("sgemm \(m)x\(k)x\(n), \(threads) threads, \(calls) calls; ms at p" + quantiles.map { "\(Int($0 * 100))" }.joined(separator: "/p"))
  for backend in availableBackends() {
    var times: [Double] = []
    for _ in 0..<(calls + 10) {
      let start = monotonicSeconds()
      sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, threads: threads, backend: backend)
      times.append(monotonicSeconds() - start)
    }
    let sorted = times.dropFirst(10).sorted()
    let row = quantiles.map { String(format2: sorted[Int($0 * Double(sorted.count - 1))] * 1e3) }
    print("  \(backend.name.padding(toLength: 9, withPad: " ", startingAt: 0)) " + row.joined(separator: "  "))
  }
}
