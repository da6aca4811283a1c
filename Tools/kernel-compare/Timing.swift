import Dispatch

/// Wall-clock seconds from a monotonic clock.
func monotonicSeconds() -> Double {
  Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
}

/// Times `body` several ways fairly against a rival: the two are run in
/// alternating rounds (so drift in machine state hits both), each round runs
/// a body enough times to last at least `roundSeconds`, and the best round's
/// per-call time is kept (the least disturbed by other load on a shared VM).
func bestSecondsPerCall(
  contenders: [() -> Void], rounds: Int, roundSeconds: Double
) -> [Double] {
  for body in contenders { body() }  // warm caches, scratch arenas, thread pools
  var callsPerRound = [Int](repeating: 1, count: contenders.count)
  for (index, body) in contenders.enumerated() {
    let start = monotonicSeconds()
    body()
    let once = max(monotonicSeconds() - start, 1e-7)
    callsPerRound[index] = max(1, Int(roundSeconds / once))
  }
  var best = [Double](repeating: .infinity, count: contenders.count)
  for _ in 0..<rounds {
    for (index, body) in contenders.enumerated() {
      let calls = callsPerRound[index]
      let start = monotonicSeconds()
      for _ in 0..<calls { body() }
      best[index] = min(best[index], (monotonicSeconds() - start) / Double(calls))
    }
  }
  return best
}

/// Median seconds per call with the contenders' calls interleaved one by one
/// (A, B, A, B, …), each call timed alone. On a shared machine whose speed
/// drifts within seconds, interleaving exposes every contender to the same
/// drift and the median ignores the bursts; the best-round figure of
/// `bestSecondsPerCall` rewards whoever happened to run in a quiet moment.
/// Equal call counts also make a `perf record` of the run split cycles
/// between contenders in proportion to their cost per call.
func medianSecondsPerCall(contenders: [() -> Void], calls: Int) -> [Double] {
  for body in contenders { body() }  // warm caches, scratch arenas, thread pools
  var times = [[Double]](repeating: [], count: contenders.count)
  for _ in 0..<calls {
    for (index, body) in contenders.enumerated() {
      let start = monotonicSeconds()
      body()
      times[index].append(monotonicSeconds() - start)
    }
  }
  return times.map { $0.sorted()[$0.count / 2] }
}

/// Runs `body` once on each of `threads` threads and returns the summed result.
func runOnThreads(_ threads: Int, _ body: @Sendable () -> Double) -> Double {
  let results = UnsafeMutablePointer<Double>.allocate(capacity: threads)
  defer { results.deallocate() }
  let shared = SendablePointer(results)
  DispatchQueue.concurrentPerform(iterations: threads) { index in
    shared.pointer[index] = body()
  }
  return (0..<threads).reduce(0) { $0 + results[$1] }
}

struct SendablePointer<T>: @unchecked Sendable {
  var pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
