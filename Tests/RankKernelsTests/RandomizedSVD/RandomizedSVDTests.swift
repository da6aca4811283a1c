import RankKernels
import Testing

@Suite("Randomized SVD and rank estimate")
struct RandomizedSVDTests {
  @Test(arguments: backendNames)
  func geometricDecayTopValuesAndVectors(backendName: String) {
    let (m, n, k) = (200, 150, 10)
    let sigma = (0..<min(m, n)).map { pow2(-$0) * 5 }
    let a = matrixWithSpectrum(sigma, rows: m, columns: n, seed: 21).map { Float($0) }
    let result = a.withUnsafeBufferPointer {
      randomizedSVD(m: m, n: n, a: $0.baseAddress!, lda: n, rank: k, seed: 5, threads: 2, backend: backend(named: backendName))
    }
    // With p = 10, q = 2 the error factor is (σ_{k+p+1}/σ_k)^5 = 2^−55: the
    // values are limited only by Float32 rounding of A and of the products.
    let bound = Double(m) * unitRoundoff * frobeniusNorm(a)
    for j in 0..<k { #expect(abs(result.values[j] - sigma[j]) <= bound, "σ_\(j)") }
    // Vectors orthonormal to Float32 accuracy, and A·v_j = σ_j·u_j.
    for j in 0..<k {
      for l in 0...j {
        var uu = 0.0, vv = 0.0
        for i in 0..<m { uu += Double(result.left[i * k + j]) * Double(result.left[i * k + l]) }
        for i in 0..<n { vv += Double(result.right[i * k + j]) * Double(result.right[i * k + l]) }
        let expected = j == l ? 1.0 : 0.0
        #expect(abs(uu - expected) <= Double(m) * unitRoundoff * 10 && abs(vv - expected) <= Double(n) * unitRoundoff * 10)
      }
    }
    for j in 0..<3 {
      var residual = 0.0
      for i in 0..<m {
        var av = 0.0
        for c in 0..<n { av += Double(a[i * n + c]) * Double(result.right[c * k + j]) }
        residual += (av - result.values[j] * Double(result.left[i * k + j])) * (av - result.values[j] * Double(result.left[i * k + j]))
      }
      #expect(residual.squareRoot() <= bound * 4)
    }
  }

  @Test func reproducibleFromSeed() {
    let a = randomMatrix(80, 60, seed: 2)
    let first = a.withUnsafeBufferPointer { randomizedSVD(m: 80, n: 60, a: $0.baseAddress!, lda: 60, rank: 5, seed: 9, threads: 1, backend: Backends.swift) }
    let second = a.withUnsafeBufferPointer { randomizedSVD(m: 80, n: 60, a: $0.baseAddress!, lda: 60, rank: 5, seed: 9, threads: 2, backend: Backends.swift) }
    #expect(first.values == second.values && first.left == second.left)
  }

  /// A = X·Y with X 300×12 and Y 12×200: exact rank 12 up to Float32 rounding,
  /// which leaves σ₁₃ ≈ u·‖A‖, far below a 1e-4 relative threshold.
  @Test(arguments: [1, 5, 12, 13])
  func rankEstimateRecoversExactRank(rank: Int) {
    let (m, n) = (300, 200)
    let x = gaussianMatrix(m, rank, seed: 1).map(Double.init), y = gaussianMatrix(rank, n, seed: 2).map(Double.init)
    let a = product(x, y, m, rank, n).map { Float($0) }
    let estimate = a.withUnsafeBufferPointer {
      randomizedRankEstimate(m: m, n: n, a: $0.baseAddress!, lda: n, relativeTolerance: 1e-4, blockSize: 8, seed: 3, threads: 2, backend: Backends.swift)
    }
    #expect(estimate.rank == rank)
    #expect(estimate.basisSize < 4 * 8 + rank, "grew the basis too far: \(estimate.basisSize)")
    #expect(estimate.residualNorm <= 1e-4 * estimate.singularValues[0])
  }

  @Test func rankEstimateAgreesWithExactSingularValuesOnDecayingSpectrum() {
    let (m, n) = (120, 90)
    let sigma = (0..<90).map { pow2(-$0 / 2) }
    let a = matrixWithSpectrum(sigma, rows: m, columns: n, seed: 8).map { Float($0) }
    let tolerance = 1e-3
    let estimate = a.withUnsafeBufferPointer {
      randomizedRankEstimate(m: m, n: n, a: $0.baseAddress!, lda: n, relativeTolerance: tolerance, seed: 1, threads: 1, backend: Backends.swift)
    }
    let exact = singularValues(of: a, rows: m, columns: n, backend: Backends.swift)
    #expect(estimate.rank == exact.filter { $0 > tolerance * exact[0] }.count)
  }
}
