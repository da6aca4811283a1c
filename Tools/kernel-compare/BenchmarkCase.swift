import RankKernels

/// One kernel on one shape, with a timed closure per contender (a backend, or
/// a reference such as numpy or the measured machine limit).
struct BenchmarkCase {
  var kernel: String
  var shape: String
  /// Work per call in the unit's numerator: flops, bytes or numbers.
  var work: Double
  var unit: RateUnit
  var contenders: [(name: String, body: () -> Void)]
  /// Run once before timing, only when the case is selected (an accuracy
  /// check that must hold for the times to be comparable, printed on stderr).
  var check: (() -> Void)? = nil

  enum RateUnit: String {
    case gflops = "GFLOP/s", gigabytes = "GB/s", giganumbers = "Gnum/s", samples = "samples/s"
    var jsonKey: String {
      switch self {
      case .gflops: "gflops"
      case .gigabytes: "gbps"
      case .giganumbers: "gnumbers_per_second"
      case .samples: "samples_per_second"
      }
    }
    /// Work per second is multiplied by this to give the unit (giga-units
    /// for kernels, plain samples for the engines).
    var scale: Double { self == .samples ? 1 : 1e-9 }
  }
}

/// Times every contender of `benchmark` in alternating rounds and returns one
/// measurement each, with the ratio to OpenBLAS's time where it took part.
/// With `interleavedCalls > 0`, the median of that many interleaved calls
/// instead (see `medianSecondsPerCall`).
func measure(_ benchmark: BenchmarkCase, threads: Int, rounds: Int, roundSeconds: Double, interleavedCalls: Int = 0) -> [Measurement] {
  benchmark.check?()
  let bodies = benchmark.contenders.map(\.body)
  let seconds = interleavedCalls > 0
    ? medianSecondsPerCall(contenders: bodies, calls: interleavedCalls)
    : bestSecondsPerCall(contenders: bodies, rounds: rounds, roundSeconds: roundSeconds)
  let openBLASSeconds = zip(benchmark.contenders, seconds).first { $0.0.name == "openblas" }?.1
  return zip(benchmark.contenders, seconds).map { contender, time in
    Measurement(
      kernel: benchmark.kernel, shape: benchmark.shape, backend: contender.name, threads: threads,
      seconds: time, rate: benchmark.work / time * benchmark.unit.scale, rateUnit: benchmark.unit,
      ratioToOpenBLAS: openBLASSeconds.map { $0 / time }, ratioToFirst: seconds[0] / time)
  }
}

/// Contenders for a kernel that takes a backend: one per available backend.
func perBackend(_ backends: [any LinearAlgebraBackend], _ body: @escaping (any LinearAlgebraBackend) -> Void) -> [(name: String, body: () -> Void)] {
  backends.map { backend in (backend.name, { body(backend) }) }
}

/// A buffer that lives for the whole process (benchmarks build many closures
/// over their inputs; freeing them is not worth the bookkeeping).
func permanentBuffer<T>(_ count: Int, of _: T.Type = T.self) -> UnsafeMutablePointer<T> {
  UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
}

/// Fills a buffer with reproducible values in [-1, 1).
func randomBuffer(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
  let buffer = permanentBuffer(count, of: Float.self)
  RandomStream(seed: seed).fillUniform(buffer, count: count)
  for i in 0..<count { buffer[i] = 2 * buffer[i] - 1 }
  return buffer
}
