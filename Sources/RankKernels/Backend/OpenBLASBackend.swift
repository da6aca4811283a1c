#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// Why dlopen rather than a system-library target behind a package trait:
// the package must build and pass its tests where OpenBLAS is absent, one
// binary must switch backends at run time, and trait-guarded dependencies had
// several SwiftPM defects up to 6.2. Resolving six C symbols at first use costs
// nothing measurable and needs no headers at build time.

private let cblasRowMajor: Int32 = 101
private let cblasNoTrans: Int32 = 111
private let cblasTrans: Int32 = 112
private let lapackRowMajor: Int32 = 101

private typealias CblasSgemm = @convention(c) (
  Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
  UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
) -> Void
private typealias CblasStrmm = @convention(c) (
  Int32, Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
  UnsafeMutablePointer<Float>?, Int32
) -> Void
private let cblasLeft: Int32 = 141
private let cblasLower: Int32 = 122
private let cblasNonUnit: Int32 = 131
private typealias SetThreads = @convention(c) (Int32) -> Void
private typealias GetConfig = @convention(c) () -> UnsafePointer<CChar>?
private typealias LapackeSgeqrf = @convention(c) (
  Int32, Int32, Int32, UnsafeMutablePointer<Float>?, Int32, UnsafeMutablePointer<Float>?
) -> Int32
private typealias LapackeSorgqr = @convention(c) (
  Int32, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, Int32, UnsafePointer<Float>?
) -> Int32
private typealias LapackeDgesdd = @convention(c) (
  Int32, CChar, Int32, Int32, UnsafeMutablePointer<Double>?, Int32,
  UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?, Int32,
  UnsafeMutablePointer<Double>?, Int32
) -> Int32

/// OpenBLAS's `cblas_sgemm`, `cblas_strmm` and LAPACKE's `sgeqrf`/`sorgqr`/`dgesdd`, resolved
/// with `dlopen` from `libopenblas.so.0` and `liblapacke.so.3` (override the
/// paths with `RANKKERNELS_OPENBLAS_LIBRARY` / `RANKKERNELS_LAPACKE_LIBRARY`;
/// `RANKKERNELS_DISABLE_OPENBLAS=1` behaves as if they were absent).
///
/// Threading: OpenBLAS keeps one global thread count; each call sets it to its
/// `threads` argument (only when it changes), so concurrent callers should
/// agree on a value (typically 1 when they parallelise over samples).
public struct OpenBLASBackend: LinearAlgebraBackend {
  private let sgemmFunction: CblasSgemm
  private let strmmFunction: CblasStrmm
  private let setThreads: SetThreads?
  /// `openblas_get_config()`: version, build options and the core kernel
  /// chosen at run time ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen
  /// MAX_THREADS=64"), for benchmark headers; nil if the library lacks it.
  public let configuration: String?
  private let sgeqrf: LapackeSgeqrf
  private let sorgqr: LapackeSorgqr
  private let dgesdd: LapackeDgesdd

  public var name: String { "openblas" }

  private static let loaded: Result<OpenBLASBackend, LoadError> = load()
  private static let threadsInEffect = Atomic<Int>(0)

  struct LoadError: Error { var message: String }

  /// The backend, or nil when the libraries could not be loaded.
  static var shared: OpenBLASBackend? { try? loaded.get() }
  /// Why loading failed, or nil.
  static var loadError: String? {
    if case .failure(let error) = loaded { return error.message }
    return nil
  }

  private static func open(_ candidates: [String]) -> Result<UnsafeMutableRawPointer, LoadError> {
    var reasons: [String] = []
    for path in candidates {
      if let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL) { return .success(handle) }
      reasons.append(dlerror().map { String(cString: $0) } ?? path)
    }
    return .failure(LoadError(message: reasons.joined(separator: "; ")))
  }

  private static func symbol<T>(_ handle: UnsafeMutableRawPointer, _ name: String, as: T.Type) throws(LoadError) -> T {
    guard let pointer = dlsym(handle, name) else {
      throw LoadError(message: "symbol \(name) not found")
    }
    return unsafeBitCast(pointer, to: T.self)
  }

  private static func load() -> Result<OpenBLASBackend, LoadError> {
    if getenvString("RANKKERNELS_DISABLE_OPENBLAS") == "1" {
      return .failure(LoadError(message: "disabled by RANKKERNELS_DISABLE_OPENBLAS=1"))
    }
    let blasNames = [getenvString("RANKKERNELS_OPENBLAS_LIBRARY"), "libopenblas.so.0", "libopenblas.so"]
      .compactMap { $0 }
    let lapackeNames = [getenvString("RANKKERNELS_LAPACKE_LIBRARY"), "liblapacke.so.3", "liblapacke.so"]
      .compactMap { $0 }
    let blas: UnsafeMutableRawPointer, lapacke: UnsafeMutableRawPointer
    switch open(blasNames) {
    case .success(let handle): blas = handle
    case .failure(let error): return .failure(error)
    }
    switch open(lapackeNames) {
    case .success(let handle): lapacke = handle
    case .failure(let error): return .failure(error)
    }
    do {
      let backend = OpenBLASBackend(
        sgemmFunction: try symbol(blas, "cblas_sgemm", as: CblasSgemm.self),
        strmmFunction: try symbol(blas, "cblas_strmm", as: CblasStrmm.self),
        setThreads: try? symbol(blas, "openblas_set_num_threads", as: SetThreads.self),
        configuration: (try? symbol(blas, "openblas_get_config", as: GetConfig.self))?().map { String(cString: $0) },
        sgeqrf: try symbol(lapacke, "LAPACKE_sgeqrf", as: LapackeSgeqrf.self),
        sorgqr: try symbol(lapacke, "LAPACKE_sorgqr", as: LapackeSorgqr.self),
        dgesdd: try symbol(lapacke, "LAPACKE_dgesdd", as: LapackeDgesdd.self))
      return .success(backend)
    } catch {
      return .failure(error)
    }
  }

  private func useThreads(_ threads: Int) {
    let wanted = max(1, threads)
    if Self.threadsInEffect.exchange(wanted, ordering: .relaxed) != wanted {
      setThreads?(Int32(wanted))
    }
  }

  private static func int32(_ value: Int, _ name: StaticString) -> Int32 {
    guard let narrow = Int32(exactly: value) else {
      invalidArgument("OpenBLASBackend", "\(name) = \(value) exceeds the 32-bit BLAS integer range")
    }
    return narrow
  }

  public func sgemm(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    if m == 0 || n == 0 { return }
    useThreads(threads)
    sgemmFunction(
      cblasRowMajor, transA == .noTranspose ? cblasNoTrans : cblasTrans,
      transB == .noTranspose ? cblasNoTrans : cblasTrans,
      Self.int32(m, "m"), Self.int32(n, "n"), Self.int32(k, "k"), alpha, a, Self.int32(lda, "lda"),
      b, Self.int32(ldb, "ldb"), beta, c, Self.int32(ldc, "ldc"))
  }

  public func lowerTriangularProduct(
    m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    if m == 0 || n == 0 { return }
    if k == 0 {
      for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
      return
    }
    useThreads(threads)
    // strmm works in place on B: copy B into C's first k rows; the rows below
    // the k × k triangle are a general product.
    for i in 0..<k { (c + i * ldc).update(from: b + i * ldb, count: n) }
    strmmFunction(
      cblasRowMajor, cblasLeft, cblasLower, cblasNoTrans, cblasNonUnit, Self.int32(k, "k"), Self.int32(n, "n"), alpha,
      a, Self.int32(lda, "lda"), c, Self.int32(ldc, "ldc"))
    if m > k {
      sgemm(
        transA: .noTranspose, transB: .noTranspose, m: m - k, n: n, k: k, alpha: alpha, a: a + k * lda, lda: lda,
        b: b, ldb: ldb, beta: 0, c: c + k * ldc, ldc: ldc, threads: threads)
    }
  }

  public func sgemmStridedBatched(
    transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int, threads: Int
  ) {
    // OpenBLAS 0.3.21 has no batched SGEMM: loop, with its own threading inside.
    for item in 0..<batchCount {
      sgemm(
        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
        a: a + item * strideA, lda: lda, b: b + item * strideB, ldb: ldb,
        beta: beta, c: c + item * strideC, ldc: ldc, threads: threads)
    }
  }

  public func householderQR(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    r: UnsafeMutablePointer<Float>, ldr: Int,
    q: UnsafeMutablePointer<Float>?, ldq: Int, threads: Int
  ) {
    if n == 0 { return }
    useThreads(threads)
    let work = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { work.deallocate() }
    let tau = UnsafeMutablePointer<Float>.allocate(capacity: n)
    defer { tau.deallocate() }
    for i in 0..<m { (work + i * n).update(from: a + i * lda, count: n) }
    let info = sgeqrf(lapackRowMajor, Self.int32(m, "m"), Self.int32(n, "n"), work, Self.int32(n, "n"), tau)
    precondition(info == 0, "LAPACKE_sgeqrf failed with info = \(info)")
    // LAPACK's R diagonal may be negative; flip rows of R (and columns of Q)
    // to the package's convention of a non-negative diagonal.
    var signs = [Float](repeating: 1, count: n)
    for i in 0..<n {
      signs[i] = work[i * n + i] < 0 ? -1 : 1
      for j in 0..<n { r[i * ldr + j] = j < i ? 0 : signs[i] * work[i * n + j] }
    }
    guard let q else { return }
    let infoQ = sorgqr(lapackRowMajor, Self.int32(m, "m"), Self.int32(n, "n"), Self.int32(n, "n"), work, Self.int32(n, "n"), tau)
    precondition(infoQ == 0, "LAPACKE_sorgqr failed with info = \(infoQ)")
    for i in 0..<m {
      for j in 0..<n { q[i * ldq + j] = signs[j] * work[i * n + j] }
    }
  }

  public func singularValues(
    m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
    into values: UnsafeMutablePointer<Double>
  ) {
    let count = min(m, n)
    if count == 0 { return }
    let work = UnsafeMutablePointer<Double>.allocate(capacity: m * n)
    defer { work.deallocate() }
    for i in 0..<m {
      for j in 0..<n { work[i * n + j] = Double(a[i * lda + j]) }
    }
    let info = dgesdd(
      lapackRowMajor, CChar(UInt8(ascii: "N")), Self.int32(m, "m"), Self.int32(n, "n"), work,
      // Row-major LAPACKE checks ldu ≥ m and ldvt ≥ n even when jobz = 'N'.
      Self.int32(n, "n"), values, nil, Self.int32(max(1, m), "m"), nil, Self.int32(max(1, n), "n"))
    if info != 0 {
      // Non-finite input or no convergence: report NaN, as the Swift backend does.
      values.update(repeating: .nan, count: count)
    }
  }
}
