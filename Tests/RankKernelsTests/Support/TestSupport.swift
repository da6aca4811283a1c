import RankKernels

#if canImport(Glibc)
import Glibc
#endif

/// Unit roundoff of Float32, u = 2⁻²⁴: every tolerance below is a multiple of
/// it derived from the problem's size.
let unitRoundoff = Double(Float.ulpOfOne) / 2

/// A reproducible matrix with entries uniform in [-1, 1).
func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64, stream: UInt64 = 0) -> [Float] {
  var values = [Float](repeating: 0, count: rows * columns)
  values.withUnsafeMutableBufferPointer { buffer in
    guard let base = buffer.baseAddress else { return }
    RandomStream(seed: seed, stream: stream).fillUniform(base, count: rows * columns)
  }
  return values.map { 2 * $0 - 1 }
}

/// A reproducible matrix with standard normal entries.
func gaussianMatrix(_ rows: Int, _ columns: Int, seed: UInt64, stream: UInt64 = 0) -> [Float] {
  var values = [Float](repeating: 0, count: rows * columns)
  values.withUnsafeMutableBufferPointer { buffer in
    guard let base = buffer.baseAddress else { return }
    RandomStream(seed: seed, stream: stream).fillNormal(base, count: rows * columns)
  }
  return values
}

/// Element (i, j) of op(X), X row-major with leading dimension ld.
@inline(__always)
func element(_ x: [Float], _ ld: Int, _ trans: Transpose, _ i: Int, _ j: Int) -> Double {
  trans == .noTranspose ? Double(x[i * ld + j]) : Double(x[j * ld + i])
}

/// Float64 reference of C = alpha·op(A)·op(B) + beta·C, plus the matching
/// error bound of a Float32 computation with any summation order:
/// |Ĉ − C| ≤ γ_{k+2}·(|alpha|·(|op(A)|·|op(B)|) + |beta|·|C|), γ_j = j·u/(1 − j·u).
func referenceGEMM(
  transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
  a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int
) -> (values: [Double], bounds: [Double]) {
  var values = [Double](repeating: 0, count: m * n)
  var bounds = [Double](repeating: 0, count: m * n)
  let gamma = Double(k + 2) * unitRoundoff / (1 - Double(k + 2) * unitRoundoff)
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0, magnitude = 0.0
      for p in 0..<k {
        let product = element(a, lda, transA, i, p) * element(b, ldb, transB, p, j)
        sum += product
        magnitude += abs(product)
      }
      let old = beta == 0 ? 0 : Double(c[i * ldc + j])
      values[i * n + j] = Double(alpha) * sum + Double(beta) * old
      bounds[i * n + j] = gamma * (abs(Double(alpha)) * magnitude + abs(Double(beta) * old)) + Double(Float.leastNormalMagnitude)
    }
  }
  return (values, bounds)
}

/// Matrix product in Float64 of row-major X (r × s) and Y (s × t).
func product(_ x: [Double], _ y: [Double], _ r: Int, _ s: Int, _ t: Int) -> [Double] {
  var z = [Double](repeating: 0, count: r * t)
  for i in 0..<r {
    for p in 0..<s {
      let xv = x[i * s + p]
      if xv == 0 { continue }
      for j in 0..<t { z[i * t + j] += xv * y[p * t + j] }
    }
  }
  return z
}

/// A random orthonormal basis (rows × columns, columns ≤ rows) in Float64 from
/// modified Gram–Schmidt applied twice to Gaussian vectors.
func randomOrthonormal(_ rows: Int, _ columns: Int, seed: UInt64) -> [Double] {
  var q = gaussianMatrix(rows, columns, seed: seed, stream: 7).map(Double.init)
  for _ in 0..<2 {
    for j in 0..<columns {
      for l in 0..<j {
        var dot = 0.0
        for i in 0..<rows { dot += q[i * columns + l] * q[i * columns + j] }
        for i in 0..<rows { q[i * columns + j] -= dot * q[i * columns + l] }
      }
      var norm = 0.0
      for i in 0..<rows { norm += q[i * columns + j] * q[i * columns + j] }
      norm = norm.squareRoot()
      for i in 0..<rows { q[i * columns + j] /= norm }
    }
  }
  return q
}

/// U·diag(sigma)·Vᵀ (m × n) in Float64, with random orthonormal U and V.
func matrixWithSpectrum(_ sigma: [Double], rows m: Int, columns n: Int, seed: UInt64) -> [Double] {
  let r = sigma.count
  let u = randomOrthonormal(m, r, seed: seed)
  let v = randomOrthonormal(n, r, seed: seed &+ 1)
  var scaledU = u
  for i in 0..<m { for j in 0..<r { scaledU[i * r + j] *= sigma[j] } }
  var vt = [Double](repeating: 0, count: r * n)
  for i in 0..<n { for j in 0..<r { vt[j * n + i] = v[i * r + j] } }
  return product(scaledU, vt, m, r, n)
}

func frobeniusNorm<T: BinaryFloatingPoint>(_ x: [T]) -> Double {
  x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
}

/// The backends to test: Swift always, OpenBLAS where its libraries load.
let allBackends: [any LinearAlgebraBackend] = [Backends.swift] + (Backends.openBLAS.map { [$0] } ?? [])
let backendNames = allBackends.map(\.name)
func backend(named name: String) -> any LinearAlgebraBackend {
  allBackends.first { $0.name == name }!
}

/// Standard normal CDF.
func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

extension RandomStream {
  func fillUniform(_ values: inout [Float], count: Int, startingAt start: UInt64 = 0) {
    values.withUnsafeMutableBufferPointer { fillUniform($0.baseAddress!, count: count, startingAt: start) }
  }
  func fillNormal(_ values: inout [Float], count: Int, mean: Float = 0, standardDeviation: Float = 1, threads: Int = 1) {
    values.withUnsafeMutableBufferPointer {
      fillNormal($0.baseAddress!, count: count, mean: mean, standardDeviation: standardDeviation, threads: threads)
    }
  }
}
