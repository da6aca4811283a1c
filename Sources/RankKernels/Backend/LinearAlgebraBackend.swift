import Synchronization

/// Whether a matrix operand is used as stored or transposed.
public enum Transpose: Sendable, Hashable, CaseIterable {
  case noTranspose
  case transpose
}

/// The operations that both the Swift kernels and OpenBLAS/LAPACKE provide.
///
/// Every matrix is row-major with an explicit leading dimension (the distance,
/// in elements, between the starts of consecutive rows). Implementations take
/// the same arguments, already validated by the public entry points
/// (``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:threads:backend:)``
/// and friends), and must not retain the pointers.
public protocol LinearAlgebraBackend: Sendable {
  /// A short lowercase name: `"swift"`, `"openblas"`.
  var name: String { get }

  /// C = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n, C m×n.
  func sgemm(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int)

  /// `batchCount` independent products; operand `i` starts at `base + i·stride`.
  func sgemmStridedBatched(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int, threads: Int)

  /// C = alpha·L·B for L the entries A[i, j], j ≤ i, of the m×k A (k ≤ m;
  /// the rest take no part), B k×n, C m×n.
  func lowerTriangularProduct(
    m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int)

  /// Thin QR of an m×n matrix with m ≥ n: writes the n×n upper-triangular R
  /// (with a non-negative diagonal) and, when `q` is non-nil, the m×n Q.
  func householderQR(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    r: UnsafeMutablePointer<Float>, ldr: Int,
    q: UnsafeMutablePointer<Float>?, ldq: Int, threads: Int)

  /// The min(m, n) singular values of an m×n matrix, in descending order,
  /// computed in Float64 from the Float32 entries, to dgesdd's accuracy
  /// (about c·min(m, n)·ε·σ₁ absolute).
  func singularValues(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    into values: UnsafeMutablePointer<Double>)
}

/// Errors from choosing a backend.
public enum BackendError: Error, CustomStringConvertible, Equatable {
  case unknownName(String)
  case unavailable(name: String, reason: String)

  public var description: String {
    switch self {
    case .unknownName(let name):
      return "unknown backend '\(name)'; expected one of: swift, openblas"
    case .unavailable(let name, let reason):
      return "backend '\(name)' is not available: \(reason)"
    }
  }
}

/// The backends ``Backends`` can switch between, named as on command lines
/// and in `RANKKERNELS_BACKEND`.
public enum BackendKind: String, CaseIterable, Sendable {
  /// The pure-Swift kernels of this package.
  case swift
  /// OpenBLAS (SGEMM) and LAPACKE, loaded at run time.
  case openBLAS = "openblas"
}

/// The run-time backend switch.
///
/// ``current`` starts as the backend named by the environment variable
/// `RANKKERNELS_BACKEND` (`swift` or `openblas`), else ``swift``. Every public
/// entry point that takes a `backend:` argument uses ``current`` when it is nil.
public enum Backends {
  /// The pure-Swift kernels: always available.
  public static let swift: any LinearAlgebraBackend = SwiftBackend()

  /// OpenBLAS (`cblas_sgemm`) and LAPACKE, loaded at run time with `dlopen`;
  /// nil when the shared libraries are not installed
  /// (`apt-get install libopenblas-dev liblapacke-dev` on Debian).
  public static var openBLAS: (any LinearAlgebraBackend)? { OpenBLASBackend.shared }

  /// Why ``openBLAS`` is nil, or nil when it is available.
  public static var openBLASUnavailableReason: String? { OpenBLASBackend.loadError }

  /// The backend of this kind; throws ``BackendError/unavailable(name:reason:)``
  /// when OpenBLAS/LAPACKE cannot be loaded.
  public static func backend(_ kind: BackendKind) throws(BackendError) -> any LinearAlgebraBackend {
    switch kind {
    case .swift: return swift
    case .openBLAS:
      if let backend = openBLAS { return backend }
      throw .unavailable(name: kind.rawValue, reason: openBLASUnavailableReason ?? "not loaded")
    }
  }

  /// Looks a backend up by name (`swift`, `openblas`, any case).
  public static func named(_ name: String) throws(BackendError) -> any LinearAlgebraBackend {
    guard let kind = BackendKind(rawValue: name.lowercased()) else { throw .unknownName(name) }
    return try backend(kind)
  }

  private static let selected = Mutex<(any LinearAlgebraBackend)?>(nil)

  /// The backend used when a call passes no `backend:`. Thread-safe.
  public static var current: any LinearAlgebraBackend {
    get {
      selected.withLock { chosen in
        if let chosen { return chosen }
        let initial = initialBackend()
        chosen = initial
        return initial
      }
    }
    set { selected.withLock { $0 = newValue } }
  }

  private static func initialBackend() -> any LinearAlgebraBackend {
    guard let requested = getenvString("RANKKERNELS_BACKEND"), !requested.isEmpty else {
      return swift
    }
    do {
      return try named(requested)
    } catch {
      fatalError("RankKernels: RANKKERNELS_BACKEND=\(requested): \(error)")
    }
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

internal func getenvString(_ name: String) -> String? {
  guard let value = getenv(name) else { return nil }
  return String(cString: value)
}
