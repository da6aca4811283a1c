@testable import RankKernels
import Foundation
import Testing

/// The task scheduler under the kernels: every task runs exactly once, and
/// with claim-ahead, the `next` a task is given is the task its thread runs
/// next (what attention relies on to prefetch).
@Suite("Parallel task scheduling")
struct ParallelTests {
  /// What the tasks saw, recorded under one lock.
  struct Record {
    var runs: [Int]
    var announcedNext: [Int?]
    /// The task that ran before this one on the same thread (nil: its first).
    var previousOnThread: [Int?]
    var lastTaskByThread: [UInt: Int] = [:]
    init(taskCount: Int) {
      runs = Array(repeating: 0, count: taskCount)
      announcedNext = Array(repeating: nil, count: taskCount)
      previousOnThread = Array(repeating: nil, count: taskCount)
    }
  }

  @Test(arguments: [1, 2, 7, 64, 301])
  func everyTaskRunsOnce(taskCount: Int) {
    let record = PthreadLocked(Record(taskCount: taskCount))
    parallelForEach(taskCount: taskCount, threads: 2) { task in
      record.withLock { $0.runs[task] += 1 }
    }
    #expect(record.withLock { $0.runs } == Array(repeating: 1, count: taskCount))
  }

  @Test(arguments: [(1, 1), (2, 2), (7, 2), (64, 2), (301, 2), (301, 1)])
  func claimingAheadNamesTheTaskTheSameThreadRunsNext(taskCount: Int, threads: Int) {
    // Other tests may hold the pool (its jobs do not nest: a busy pool runs a
    // job on the caller alone), so retry until the job got two threads.
    let wantsTwoThreads = threads > 1 && taskCount > 2
    var result = Record(taskCount: taskCount)
    for _ in 0..<50 {
      result = runClaimingAhead(taskCount: taskCount, threads: threads, holdFirstTask: wantsTwoThreads)
      if !wantsTwoThreads || result.lastTaskByThread.count == threads { break }
    }
    if wantsTwoThreads { #expect(result.lastTaskByThread.count == threads, "never got \(threads) threads") }
    #expect(result.runs == Array(repeating: 1, count: taskCount))
    for task in 0..<taskCount {
      if let next = result.announcedNext[task] {
        #expect(result.previousOnThread[next] == task, "task \(task) announced \(next)")
      }
    }
    // Every task but each thread's first was announced by its predecessor.
    let announced = result.announcedNext.compactMap { $0 }
    let firsts = result.previousOnThread.filter { $0 == nil }.count
    #expect(Set(announced).count == announced.count && announced.count + firsts == taskCount)
  }

  private func runClaimingAhead(taskCount: Int, threads: Int, holdFirstTask: Bool) -> Record {
    let record = PthreadLocked(Record(taskCount: taskCount))
    parallelForEachClaimingAhead(taskCount: taskCount, threads: threads) { task, next in
      let threadsSoFar = record.withLock { record in
        let thread = currentThreadIdentifier()
        record.runs[task] += 1
        record.announcedNext[task] = next
        record.previousOnThread[task] = record.lastTaskByThread[thread]
        record.lastTaskByThread[thread] = task
        return record.lastTaskByThread.count
      }
      // Hold the first task (up to 20 ms) until another thread has taken one.
      if task == 0 && holdFirstTask && threadsSoFar == 1 {
        for _ in 0..<200 where record.withLock({ $0.lastTaskByThread.count }) < 2 { usleep(100) }
      }
    }
    return record.withLock { $0 }
  }
}

#if canImport(Glibc)
import Glibc
private func currentThreadIdentifier() -> UInt { UInt(pthread_self()) }
#elseif canImport(Darwin)
import Darwin
private func currentThreadIdentifier() -> UInt { UInt(bitPattern: pthread_self()) }
#endif

/// The tests' bookkeeping behind an NSLock (a pthread mutex), not
/// Synchronization's Mutex: ThreadSanitizer on Linux does not see that Mutex's
/// futex-based lock, and reports every access made under it from two threads
/// as a race (two threads adding 20,000 times to a Mutex<[Int: Int]> get 5
/// reports and the right total); with a lock it sees, `swift test
/// --sanitize=thread` can check these tests' own accesses.
final class PthreadLocked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) -> R) -> R {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }
}
