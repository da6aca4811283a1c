
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
/// of `granule` (except the last), as evenly as the granule allows: the first
/// `granules % parts` ranges get one granule more. Computed on demand, so
/// that splitting allocates nothing (the kernels' hot paths must not).
internal func splitRange(_ count: Int, parts: Int, granule: Int) -> RangeSplit {
  let granules = (count + granule - 1) / granule
  return RangeSplit(total: count, parts: max(1, min(parts, granules)), granule: granule, granules: granules)
}

/// The ranges of ``splitRange(_:parts:granule:)``, range `part` at index `part`.
internal struct RangeSplit: RandomAccessCollection {
  let total: Int, parts: Int, granule: Int, granules: Int

  var startIndex: Int { 0 }
  var endIndex: Int { parts }

  subscript(part: Int) -> Range<Int> {
    let base = granules / parts, extra = granules % parts
    let first = part * base + Swift.min(part, extra), here = base + (part < extra ? 1 : 0)
    return Swift.min(total, first * granule)..<Swift.min(total, (first + here) * granule)
  }
}
