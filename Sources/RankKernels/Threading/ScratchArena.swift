#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named per-thread work buffers, so hot kernels never allocate after warm-up.
///
/// Each thread (the caller's, or a `concurrentPerform` worker's) owns one
/// arena. A kernel asks for a slot by purpose; a slot grows when a larger size
/// is requested and is otherwise reused. Distinct purposes get distinct slots
/// so that a kernel may call another (attention calls GEMM) without the callee
/// overwriting the caller's buffer.
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
}

@usableFromInline
internal final class ScratchArena {
  private var buffers: [UnsafeMutableRawPointer?]
  private var capacities: [Int]

  private init() {
    buffers = Array(repeating: nil, count: ScratchSlot.allCases.count)
    capacities = Array(repeating: 0, count: ScratchSlot.allCases.count)
  }

  deinit {
    for buffer in buffers { buffer?.deallocate() }
  }

  /// A 64-byte-aligned buffer of at least `count` elements of `T`, valid until
  /// this thread asks for the same slot again.
  @usableFromInline
  func buffer<T>(_ slot: ScratchSlot, count: Int, of type: T.Type) -> UnsafeMutablePointer<T> {
    let bytes = max(64, count * MemoryLayout<T>.stride)
    let index = slot.rawValue
    if capacities[index] < bytes {
      buffers[index]?.deallocate()
      // Round up so that a slowly growing request does not reallocate each time.
      let rounded = (bytes + bytes / 4 + 4095) & ~4095
      buffers[index] = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 64)
      capacities[index] = rounded
    }
    return buffers[index]!.bindMemory(to: T.self, capacity: count)
  }

  private static let key: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { pointer in
      #if canImport(Darwin)
      Unmanaged<ScratchArena>.fromOpaque(pointer).release()
      #else
      if let pointer { Unmanaged<ScratchArena>.fromOpaque(pointer).release() }
      #endif
    }
    precondition(status == 0, "pthread_key_create failed with \(status)")
    return key
  }()

  /// The calling thread's arena, created on first use and freed at thread exit.
  @usableFromInline
  static var current: ScratchArena {
    if let existing = pthread_getspecific(key) {
      return Unmanaged<ScratchArena>.fromOpaque(existing).takeUnretainedValue()
    }
    let arena = ScratchArena()
    pthread_setspecific(key, Unmanaged.passRetained(arena).toOpaque())
    return arena
  }
}
