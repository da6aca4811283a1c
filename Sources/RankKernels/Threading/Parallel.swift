
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thread-count policy shared by every kernel.
///
/// Kernels take a `threads` argument. `1` runs on the calling thread with no
/// dispatch at all, which is what callers that already parallelise over
/// samples want (no oversubscription). Larger values split the kernel's work
/// over persistent worker threads (`WorkerPool`); a kernel may use fewer threads
/// than asked when the work is too small to pay for the hand-off.
public enum Threading {
  /// The number of processors currently online: the default for `threads`.
  public static var defaultThreadCount: Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }
}

/// Runs `body(task)` for `task` in `0..<taskCount` on up to `threads` threads.
///
/// Which thread runs which task is unspecified, so results must not depend on
/// it: every kernel gives each task a disjoint part of the output and never
/// reduces across tasks in a thread-dependent order.

internal func parallelForEach(taskCount: Int, threads: Int, _ body: (Int) -> Void) {
  if taskCount <= 0 { return }
  if threads <= 1 || taskCount == 1 {
    for task in 0..<taskCount { body(task) }
    return
  }
  WorkerPool.shared.run(taskCount: taskCount, threads: threads) { task, _ in body(task) }
}

/// As `parallelForEach`, but each thread claims its next task before running
/// the current one and passes it as `next` (nil for a thread's last task), so
/// that the body can prefetch the next task's inputs. The claim order, not the
/// results, depends on timing; at the end a thread may hold one task more.
internal func parallelForEachClaimingAhead(taskCount: Int, threads: Int, _ body: (_ task: Int, _ next: Int?) -> Void) {
  if taskCount <= 0 { return }
  // One thread (or one task) runs in order on the caller, inside `run`.
  WorkerPool.shared.run(taskCount: taskCount, threads: threads, claimsAhead: true, body)
}

/// Splits `0..<count` into `parts` contiguous ranges whose bounds are multiples
/// of `granule` (except the last), as evenly as the granule allows.

internal func splitRange(_ count: Int, parts: Int, granule: Int) -> [Range<Int>] {
  let granules = (count + granule - 1) / granule
  let parts = max(1, min(parts, granules))
  var ranges: [Range<Int>] = []
  ranges.reserveCapacity(parts)
  var start = 0
  for part in 0..<parts {
    let granulesHere = granules / parts + (part < granules % parts ? 1 : 0)
    let end = min(count, start + granulesHere * granule)
    ranges.append(start..<end)
    start = end
  }
  return ranges
}
