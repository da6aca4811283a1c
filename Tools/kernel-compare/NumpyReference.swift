import Foundation

/// numpy's figures for the kernels it has (SGEMM via its bundled OpenBLAS,
/// normal random numbers from its default generator, PCG64 + ziggurat),
/// measured by a `python3` child process in the same run, with the same
/// best-of-rounds timing. Skipped, with a note on stderr, without numpy.
func numpyMeasurements(threads: Int, rounds: Int, roundSeconds: Double, selected: (String, String) -> Bool) -> [Measurement] {
  let gemm = gemmShapes.filter { selected("sgemm", "\($0.m)x\($0.k)x\($0.n)") }
  let rngCount = 768 * 3072
  let wantRNG = selected("rng_normal", "\(rngCount)")
  if gemm.isEmpty && !wantRNG { return [] }
  let script = """
    import sys, time
    import numpy as np
    rounds, round_seconds = int(sys.argv[1]), float(sys.argv[2])
    def best(f):
        f()
        t = time.perf_counter(); f(); once = max(time.perf_counter() - t, 1e-7)
        calls = max(1, int(round_seconds / once))
        result = float("inf")
        for _ in range(rounds):
            t = time.perf_counter()
            for _ in range(calls): f()
            result = min(result, (time.perf_counter() - t) / calls)
        return result
    rng = np.random.default_rng(1)
    for spec in sys.argv[3:]:
        kind, size = spec.split(":")
        if kind == "sgemm":
            m, k, n = map(int, size.split("x"))
            a = rng.uniform(-1, 1, (m, k)).astype(np.float32); b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
            c = np.empty((m, n), np.float32)
            print("sgemm", size, best(lambda: np.matmul(a, b, out=c)), flush=True)
        else:
            out = np.empty(int(size), np.float32)
            print("rng_normal", size, best(lambda: rng.standard_normal(out=out, dtype=np.float32)), flush=True)
    """
  let specs = gemm.map { "sgemm:\($0.m)x\($0.k)x\($0.n)" } + (wantRNG ? ["rng_normal:\(rngCount)"] : [])
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", script, "\(rounds)", "\(roundSeconds)"] + specs
  var environment = ProcessInfo.processInfo.environment
  for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[name] = "\(threads)" }
  process.environment = environment
  let output = Pipe(), errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  do { try process.run() } catch {
    printError("kernel-compare: numpy comparison skipped (python3 did not start: \(error))")
    return []
  }
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  if process.terminationStatus != 0 {
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    printError("kernel-compare: numpy comparison skipped (\(message.split(separator: "\n").last ?? "python3 failed"))")
    return []
  }
  return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
    let fields = line.split(separator: " ")
    guard fields.count == 3, let seconds = Double(fields[2]) else { return nil }
    let kernel = String(fields[0]), shape = String(fields[1])
    let work: Double, unit: BenchmarkCase.RateUnit
    if kernel == "sgemm" {
      let s = shape.split(separator: "x").compactMap { Double($0) }
      work = 2 * s[0] * s[1] * s[2]
      unit = .gflops
    } else {
      work = Double(shape) ?? 0
      unit = .giganumbers
    }
    return Measurement(
      kernel: kernel, shape: shape, backend: "numpy", threads: threads, seconds: seconds,
      rate: work / seconds * unit.scale, rateUnit: unit, ratioToOpenBLAS: nil)
  }
}
