import Foundation
import RankKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin QR (R only, as mc-generic uses it) and singular values at the sizes
/// of a BERT-base token matrix: 768×16 is Xᵀ for 16 tokens, 3072×128 the MLP
/// activations of 128 tokens; 16×16 and 128×128 are their triangular factors.
func factorizationCases(backends: [any LinearAlgebraBackend], threads: Int) -> [BenchmarkCase] {
  var cases: [BenchmarkCase] = []
  for (m, n) in [(768, 16), (3072, 128)] {
    let a = randomBuffer(m * n, seed: 5), r = permanentBuffer(n * n, of: Float.self)
    // Householder QR: 2mn² − 2n³/3 flops for R.
    let flops = 2.0 * Double(m * n * n) - 2.0 * Double(n * n * n) / 3
    cases.append(
      BenchmarkCase(
        kernel: "qr", shape: "\(m)x\(n)", work: flops, unit: .gflops,
        contenders: perBackend(backends) { backend in
          householderQR(m: m, n: n, a: a, lda: n, r: r, ldr: n, threads: threads, backend: backend)
        }))
  }
  for (m, n) in [(16, 16), (128, 128), (768, 128)] {
    let a = randomBuffer(m * n, seed: 6), values = permanentBuffer(n, of: Double.self)
    // No standard flop count exists for an SVD (iterative); report the
    // conventional 4mn² of a values-only dense SVD so rates are comparable.
    // `singularValues` on each backend (Swift: bidiagonalisation + dqds;
    // OpenBLAS: dgesdd), and "jacobi", the relatively accurate path (rank method exact).
    cases.append(
      BenchmarkCase(
        kernel: "singular_values", shape: "\(m)x\(n)", work: 4.0 * Double(m * n * n), unit: .gflops,
        contenders: perBackend(backends) { backend in
          singularValues(m: m, n: n, a: a, lda: n, into: values, backend: backend)
        } + [("jacobi", { singularValuesByJacobi(m: m, n: n, a: a, lda: n, into: values) })]))
  }
  return cases
}

/// The Float64 Gram matrix X·Xᵀ that the sketch engine and the rank metrics
/// factor (16 tokens × width 768 or 3072); Swift only (BLAS has no
/// mixed-precision SYRK).
func gramCases() -> [BenchmarkCase] {
  [(16, 768), (16, 3072), (128, 768)].map { n, k in
    let x = randomBuffer(n * k, seed: 7), gram = permanentBuffer(n * n, of: Double.self)
    return BenchmarkCase(
      kernel: "gram_f64", shape: "\(n)x\(k)", work: Double(n * (n + 1) * k), unit: .gflops,
      contenders: [("swift", { gramMatrix(rows: n, columns: k, x: x, ldx: k, gram: gram, ldg: n) })])
  }
}

/// The rank metrics' Float64 pass over a token matrix's entries (means,
/// squared norms, composite norms of X and its centred form), at the Gram
/// engine's 16 × 768 and at 128 × 768; Swift only, in G entries/s.
func centringCases() -> [BenchmarkCase] {
  [(16, 768), (128, 768)].map { n, d in
    let x = randomBuffer(n * d, seed: 9)
    return BenchmarkCase(
      kernel: "centring_statistics", shape: "\(n)x\(d)", work: Double(n * d), unit: .giganumbers,
      contenders: [("swift", { _ = CentringStatistics(rows: n, columns: d, x: x, ldx: d, keepsMean: false) })])
  }
}

/// Eigenvalues of Float64 Gram matrices (the rank metrics at 16 and 128
/// tokens, and 512), beside LAPACKE's `dsyevd` (job 'N', values only) on a
/// copy of the same matrix when liblapacke is installed.
func eigenvalueCases(threads: Int) -> [BenchmarkCase] {
  let dsyevd = lapackeDsyevd(threads: threads)
  return [16, 128, 512].map { n in
    let x = randomBuffer(n * 768, seed: 8)
    let gram = permanentBuffer(n * n, of: Double.self), values = permanentBuffer(n, of: Double.self)
    let copy = permanentBuffer(n * n, of: Double.self)
    gramMatrix(rows: n, columns: 768, x: x, ldx: 768, gram: gram, ldg: n)
    var contenders: [(name: String, body: () -> Void)] = [("swift", { symmetricEigenvalues(n: n, a: gram, lda: n, into: values) })]
    if let dsyevd {
      // The copy is part of the call: dsyevd destroys A (ours copies internally too).
      contenders.append(("openblas", {
        copy.update(from: gram, count: n * n)
        dsyevd.call(n, copy, values)
      }))
    }
    // OpenBLAS's thread count is set once before the case is timed, not inside
    // the timed call (at 16 × 16 the call itself takes a few microseconds).
    return BenchmarkCase(
      kernel: "symmetric_eigenvalues", shape: "\(n)x\(n)", work: 4.0 * Double(n * n * n) / 3, unit: .gflops,
      contenders: contenders, check: { dsyevd?.useThreads() })
  }
}

typealias LapackeDsyevd = @convention(c) (Int32, CChar, CChar, Int32, UnsafeMutablePointer<Double>, Int32, UnsafeMutablePointer<Double>) -> Int32

/// LAPACKE_dsyevd from liblapacke.so.3, or nil (a benchmark reference only),
/// with a function that sets OpenBLAS to `threads` threads (other cases change
/// OpenBLAS's thread count, and its default is every core).
func lapackeDsyevd(threads: Int) -> (call: (_ n: Int, _ a: UnsafeMutablePointer<Double>, _ w: UnsafeMutablePointer<Double>) -> Void, useThreads: () -> Void)? {
  guard let dsyevd = lapackeFunction("LAPACKE_dsyevd", as: LapackeDsyevd.self, threads: threads) else { return nil }
  // LAPACK_ROW_MAJOR = 101; 'N' (78): eigenvalues only; 'U' (85): upper triangle.
  return ({ n, a, w in _ = dsyevd.call(101, 78, 85, Int32(n), a, Int32(n), w) }, dsyevd.useThreads)
}

/// Pivoted Cholesky factors of Float64 Gram matrices (the engines factor
/// several per layer: 16 and 128 tokens, full rank), beside LAPACKE's
/// `dpstrf` (lower, tolerance −1: LAPACK's default n·ε·max diagonal) on a
/// copy of the same matrix when liblapacke is installed.
func pivotedCholeskyCases(threads: Int) -> [BenchmarkCase] {
  let dpstrf = lapackeFunction("LAPACKE_dpstrf", as: LapackeDpstrf.self, threads: threads)
  return [16, 128].map { n in
    let x = randomBuffer(n * 768, seed: 9)
    let gram = permanentBuffer(n * n, of: Double.self), lower = permanentBuffer(n * n, of: Double.self)
    let order = permanentBuffer(n, of: Int.self)
    let copy = permanentBuffer(n * n, of: Double.self), pivots = permanentBuffer(n, of: Int32.self)
    gramMatrix(rows: n, columns: 768, x: x, ldx: 768, gram: gram, ldg: n)
    var contenders: [(name: String, body: () -> Void)] = [
      ("swift", { pivotedCholesky(n: n, a: gram, lda: n, lower: lower, ldl: n, order: order) })
    ]
    if let dpstrf {
      // The copy is part of the call: dpstrf overwrites A (ours copies internally too).
      contenders.append(("openblas", {
        copy.update(from: gram, count: n * n)
        var rank: Int32 = 0
        // LAPACK_ROW_MAJOR = 101; 'L' (76): lower.
        _ = dpstrf.call(101, 76, Int32(n), copy, Int32(n), pivots, &rank, -1)
      }))
    }
    return BenchmarkCase(
      kernel: "pivoted_cholesky", shape: "\(n)x\(n)", work: Double(n * n * n) / 3, unit: .gflops,
      contenders: contenders, check: { dpstrf?.useThreads() })
  }
}

typealias LapackeDpstrf = @convention(c) (
  Int32, CChar, Int32, UnsafeMutablePointer<Double>, Int32, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, Double
) -> Int32

/// A LAPACKE function from liblapacke.so.3, or nil (a benchmark reference
/// only), with a function that sets OpenBLAS to `threads` threads.
func lapackeFunction<F>(_ name: String, as type: F.Type, threads: Int) -> (call: F, useThreads: () -> Void)? {
  let environment = ProcessInfo.processInfo.environment
  guard environment["RANKKERNELS_DISABLE_OPENBLAS"] == nil,
    let handle = dlopen(environment["RANKKERNELS_LAPACKE_LIBRARY"] ?? "liblapacke.so.3", RTLD_NOW),
    let symbol = dlsym(handle, name)
  else { return nil }
  typealias SetThreads = @convention(c) (Int32) -> Void
  let blas = dlopen(environment["RANKKERNELS_OPENBLAS_LIBRARY"] ?? "libopenblas.so.0", RTLD_NOW)
  let setThreads = blas.flatMap { dlsym($0, "openblas_set_num_threads") }.map { unsafeBitCast($0, to: SetThreads.self) }
  return (unsafeBitCast(symbol, to: F.self), { setThreads?(Int32(threads)) })
}

/// Randomized SVD (top 16, oversampling 8, 2 power iterations, Swift) against
/// LAPACKE's full SVD (dgesdd on a Float64 copy, the OpenBLAS backend's
/// `singularValues`) on A = G·diag(0.7^j), G Gaussian m × 768: a decaying
/// spectrum like a token matrix's. The accuracy of the top 16 values against
/// the full SVD is printed on stderr; it must be within 1e-3 relative for the
/// time ratio to count ("equal accuracy").
func randomizedSVDCases(backends: [any LinearAlgebraBackend], threads: Int) -> [BenchmarkCase] {
  let n = 768, rank = 16
  return [512, 4096].map { m in
    let a = permanentBuffer(m * n, of: Float.self)
    RandomStream(seed: 30).fillNormal(a, count: m * n)
    let columnScales = (0..<n).map { Float(pow(0.7, Double($0))) }
    for i in 0..<m { for j in 0..<n { a[i * n + j] *= columnScales[j] } }
    let full = permanentBuffer(min(m, n), of: Double.self)
    var contenders: [(name: String, body: () -> Void)] = [
      ("swift", { _ = randomizedSVD(m: m, n: n, a: a, lda: n, rank: rank, oversampling: 8, powerIterations: 2, seed: 1, threads: threads) })
    ]
    var check: (() -> Void)?
    if let openBLAS = backends.first(where: { $0.name == "openblas" }) {
      contenders.append(("openblas", { openBLAS.singularValues(m: m, n: n, a: a, lda: n, into: full) }))
      check = {
        openBLAS.singularValues(m: m, n: n, a: a, lda: n, into: full)
        let estimate = randomizedSVD(m: m, n: n, a: a, lda: n, rank: rank, oversampling: 8, powerIterations: 2, seed: 1, threads: threads)
        let worst = (0..<rank).map { abs(estimate.values[$0] - full[$0]) / full[$0] }.max() ?? .nan
        printError("randomized_svd \(m)x\(n): top-\(rank) largest relative error vs LAPACKE full SVD = \(worst)")
      }
    }
    // Work: the randomized method's 2·m·n·(k+p)·(2q+2) flops, for a rate.
    return BenchmarkCase(
      kernel: "randomized_svd_top16", shape: "\(m)x\(n)", work: 2.0 * Double(m * n * (rank + 8) * 6), unit: .gflops,
      contenders: contenders, check: check)
  }
}
