#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Persistent worker threads for kernel-level parallelism.
///
/// Why not `DispatchQueue.concurrentPerform`: measured on the 2-core machine,
/// a GEMM split in two halves occasionally ran both halves on one thread (p99
/// twice the median), because the dispatch worker was not ready in time. These
/// workers stay alive, spin briefly after each job (OpenBLAS does the same), then
/// park on a condition variable; the calling thread always takes tasks too, so a
/// late worker costs only the tasks it did not take. Jobs never nest: a call made
/// while the pool is busy (from inside a task, or from another thread) runs its
/// tasks on the calling thread.
final class WorkerPool: @unchecked Sendable {
  static let shared = WorkerPool()

  /// Busy-wait this long for the next job before parking (≈ 50 µs).
  private static let spinIterations = 20_000

  private let generation = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private var mutex = pthread_mutex_t()
  private var condition = pthread_cond_t()
  private var workers = 0
  // The current job; written before `generation` is bumped (release) and read
  // by workers after they observe the bump (acquire).
  private var job: Job?

  final class Job: @unchecked Sendable {
    /// Non-owning: the closure lives on the caller's stack for the job's
    /// duration. A worker that arrives late holds the Job but finds no task
    /// left, so it never calls `body` after `run` returns.
    let body: UnsafePointer<(Int, Int?) -> Void>
    let taskCount: Int
    let participants: Int
    let claimsAhead: Bool
    let nextTask = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    init(body: UnsafePointer<(Int, Int?) -> Void>, taskCount: Int, participants: Int, claimsAhead: Bool) {
      self.body = body
      self.taskCount = taskCount
      self.participants = participants
      self.claimsAhead = claimsAhead
    }
    /// Takes tasks until none are left. Claiming ahead, a participant holds
    /// its next task while it runs the current one, and tells the body which.
    func work() {
      func claim() -> Int? {
        let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
        return task < taskCount ? task : nil
      }
      var current = claim()
      while let task = current {
        let next = claimsAhead ? claim() : nil
        body.pointee(task, next)
        finished.wrappingAdd(1, ordering: .releasing)
        current = claimsAhead ? next : claim()
      }
    }
  }

  private init() {
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&condition, nil)
  }

  /// Runs `body(task, next)` for every task on the caller plus up to
  /// `threads − 1` workers, returning when all tasks are done. `next` is the
  /// task the same thread runs next when `claimsAhead` (else nil).
  func run(taskCount: Int, threads: Int, claimsAhead: Bool = false, _ body: (Int, Int?) -> Void) {
    guard threads > 1, taskCount > 1,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for task in 0..<taskCount { body(task, task + 1 < taskCount ? task + 1 : nil) }
      return
    }
    defer { busy.store(false, ordering: .releasing) }
    ensureWorkers(min(threads, taskCount) - 1)
    withoutActuallyEscaping(body) { escaping in
      withUnsafePointer(to: escaping) { bodyPointer in
      let current = Job(
        body: bodyPointer, taskCount: taskCount, participants: min(threads, taskCount), claimsAhead: claimsAhead)
      pthread_mutex_lock(&mutex)
      job = current
      generation.wrappingAdd(1, ordering: .releasing)
      pthread_cond_broadcast(&condition)
      pthread_mutex_unlock(&mutex)
      current.work()
      while current.finished.load(ordering: .acquiring) < taskCount { spinPause() }
      pthread_mutex_lock(&mutex)
      job = nil
      pthread_mutex_unlock(&mutex)
      }
    }
  }

  private func ensureWorkers(_ count: Int) {
    while workers < count {
      let index = workers
      workers += 1
      let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
      var thread = pthread_t()
      let status = pthread_create(&thread, nil, { raw in
        #if canImport(Darwin)
        let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
        #else
        let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
        #endif
        context.pool.workerLoop(index: context.index)
        return nil
      }, context)
      precondition(status == 0, "RankKernels: pthread_create failed with \(status)")
      pthread_detach(thread)
    }
  }

  private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
  }

  private func workerLoop(index: Int) {
    var seen = generation.load(ordering: .acquiring)
    while true {
      var spins = 0
      while generation.load(ordering: .acquiring) == seen && spins < Self.spinIterations {
        spinPause()
        spins += 1
      }
      pthread_mutex_lock(&mutex)
      while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&condition, &mutex) }
      seen = generation.load(ordering: .acquiring)
      let current = job
      pthread_mutex_unlock(&mutex)
      // Workers beyond this job's thread count stay out of it.
      if let current, index < current.participants - 1 { current.work() }
    }
  }
}

@inline(__always)
private func spinPause() {
  #if arch(x86_64)
  // `pause` would be better; a relaxed no-op keeps the loop portable.
  _ = 0
  #endif
}
