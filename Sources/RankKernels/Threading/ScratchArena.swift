#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernels' named per-thread work buffers, so hot kernels never
/// allocate after warm-up.
///
/// Each thread (the caller's, or a `concurrentPerform` worker's) owns one
/// arena (`ScratchArena`). A kernel asks for a slot by purpose; a slot grows
/// when a larger size is requested and is otherwise reused. Distinct purposes
/// get distinct slots so that a kernel may call another (attention calls
/// GEMM) without the callee overwriting the caller's buffer.
@usableFromInline
internal enum ScratchSlot: Int, CaseIterable {
  case gemmPackedA, gemmPackedB, gemmEdgeTile
  case attentionScores, attentionRowState, attentionPackedKeys, attentionStagedRows, attentionPackedValues
  case factorization, factorizationVectors
  /// Small products' packed B panels; the symmetric eigenvalues' tridiagonal
  /// form; the bidiagonalisation's reflector; dqds's pending block starts;
  /// the pivoted Cholesky's working copy and the factor and order it permutes.
  /// (The standard library's temporary allocations come from the heap above
  /// 1 KiB on Linux threads.)
  case smallProductPanels, tridiagonalForm, bidiagonalReflector, pendingBlockStarts
  case choleskyWork, choleskyLower, choleskyOrder
  /// `CentringStatistics`' column sums and mean row.
  case centringColumnSums
  /// The two-stage elementwise maps' (GELU's tanh form) first-stage results.
  case activationStages
}

/// Per-thread growable work buffers, one per case of a caller's `Slot`
/// enum: the kernels' (`ScratchArena`) and, in client modules, their own
/// slots, so that code built on the kernels can keep its per-sample path
/// free of heap allocations too.
///
/// A slot grows when a larger size is requested and is otherwise reused; a
/// pointer it returned stays valid until the same thread asks for the same
/// slot again. Not thread-safe: each thread uses its own instance
/// (``ThreadLocal``).
public final class WorkBuffers<Slot: CaseIterable & RawRepresentable> where Slot.RawValue == Int {
  /// Each slot's buffer (nil until first asked for) and its capacity in
  /// bytes, in fixed storage: the lookup runs several hundred times per
  /// Monte Carlo sample, and as arrays in class properties each one paid a
  /// dynamic exclusivity check and reference counting (~1 % of a sample).
  @usableFromInline let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
  @usableFromInline let capacities: UnsafeMutablePointer<Int>
  @usableFromInline let slotCount: Int

  public init() {
    slotCount = Slot.allCases.count
    buffers = .allocate(capacity: slotCount)
    buffers.initialize(repeating: nil, count: slotCount)
    capacities = .allocate(capacity: slotCount)
    capacities.initialize(repeating: 0, count: slotCount)
  }

  deinit {
    for index in 0..<slotCount { buffers[index]?.deallocate() }
    buffers.deallocate()
    capacities.deallocate()
  }

  /// A 64-byte-aligned, uninitialised buffer of at least `count` elements of
  /// `T` (a trivial type), valid until this thread asks for `slot` again.
  @inlinable
  public func buffer<T>(_ slot: Slot, count: Int, of type: T.Type) -> UnsafeMutablePointer<T> {
    let bytes = max(64, count * MemoryLayout<T>.stride)
    let index = slot.rawValue
    precondition(index >= 0 && index < slotCount, "scratch slot \(index) out of range")
    if capacities[index] < bytes { grow(index, to: bytes) }
    return buffers[index]!.bindMemory(to: T.self, capacity: count)
  }

  @usableFromInline
  func grow(_ index: Int, to bytes: Int) {
    buffers[index]?.deallocate()
    // Round up so that a slowly growing request does not reallocate each time.
    let rounded = (bytes + bytes / 4 + 4095) & ~4095
    buffers[index] = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 64)
    capacities[index] = rounded
  }
}

/// One instance of `Value` per thread, made on the thread's first use and
/// released when the thread exits (a pthread key).
public final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
  private let key: pthread_key_t
  private let make: @Sendable () -> Value

  public init(_ make: @escaping @Sendable () -> Value) {
    self.make = make
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { pointer in
      #if canImport(Darwin)
      Unmanaged<AnyObject>.fromOpaque(pointer).release()
      #else
      if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
      #endif
    }
    precondition(status == 0, "pthread_key_create failed with \(status)")
    self.key = key
  }

  /// The calling thread's instance.
  public var value: Value {
    if let existing = pthread_getspecific(key) {
      return Unmanaged<Value>.fromOpaque(existing).takeUnretainedValue()
    }
    let made = make()
    pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
    return made
  }
}

/// The kernels' per-thread work buffers.
@usableFromInline
internal typealias ScratchArena = WorkBuffers<ScratchSlot>

private let kernelScratch = ThreadLocal { ScratchArena() }

extension WorkBuffers where Slot == ScratchSlot {
  /// The calling thread's arena, created on first use and freed at thread exit.
  @usableFromInline
  static var current: ScratchArena { kernelScratch.value }
}
