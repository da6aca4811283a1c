import RankKernels
import Testing

@Suite("Singular values")
struct SingularValueTests {
  /// 16×16 Sylvester–Hadamard matrix divided by 4: orthogonal and exact in Float.
  private func scaledHadamard() -> [Float] {
    var h: [Float] = [1]
    var size = 1
    while size < 16 {
      var next = [Float](repeating: 0, count: 4 * size * size)
      for i in 0..<size {
        for j in 0..<size {
          let x = h[i * size + j]
          next[i * 2 * size + j] = x; next[i * 2 * size + j + size] = x
          next[(i + size) * 2 * size + j] = x; next[(i + size) * 2 * size + j + size] = -x
        }
      }
      h = next
      size *= 2
    }
    return h.map { $0 / 4 }
  }

  /// A = (H/4)·diag(σ) with σ_j = 2^(−3j) down to 2^(−45) ≈ 3e-14: every entry
  /// is exact in Float32, so the exact singular values are σ. One-sided Jacobi
  /// after QR must find each to Float64 relative accuracy (κ(H/4)·n·ε ≈ 4e-15),
  /// even the ones fourteen orders of magnitude below σ₁.
  @Test func gradedSpectrumToFloat64RelativeAccuracy() {
    let h = scaledHadamard()
    let sigma = (0..<16).map { Float(Double.ulpOfOne.squareRoot() * 0 + pow2(-3 * $0)) }
    var a = [Float](repeating: 0, count: 256)
    for i in 0..<16 { for j in 0..<16 { a[i * 16 + j] = h[i * 16 + j] * sigma[j] } }
    let values = singularValuesByJacobi(of: a, rows: 16, columns: 16)
    for j in 0..<16 {
      let relative = abs(values[j] - Double(sigma[j])) / Double(sigma[j])
      #expect(relative <= 64 * Double.ulpOfOne, "σ_\(j) = \(sigma[j]): relative error \(relative)")
    }
    // Row-scaled (A = diag(σ)·H/4) is the transposed orientation of the same.
    var b = [Float](repeating: 0, count: 256)
    for i in 0..<16 { for j in 0..<16 { b[i * 16 + j] = sigma[i] * h[i * 16 + j] } }
    let transposedValues = singularValuesByJacobi(of: b, rows: 16, columns: 16)
    for j in 0..<16 {
      #expect(abs(transposedValues[j] - Double(sigma[j])) / Double(sigma[j]) <= 64 * Double.ulpOfOne)
    }
  }

  /// A = U·Σ·Vᵀ rounded to Float32: by Weyl, each singular value of the stored
  /// matrix is within ‖E‖₂ ≤ ‖E‖_F ≤ u·‖A‖_F of Σ.
  @Test(arguments: backendNames, [(17, 7), (7, 17), (65, 65), (127, 31), (1, 9), (9, 1)])
  func knownSpectrumWithinRoundingOfTheInput(backendName: String, size: (m: Int, n: Int)) {
    let (m, n) = size
    let r = min(m, n)
    let sigma = (0..<r).map { 10 * pow2(-$0) }
    let exact = matrixWithSpectrum(sigma, rows: m, columns: n, seed: UInt64(m * 31 + n))
    let a = exact.map { Float($0) }
    let values = singularValues(of: a, rows: m, columns: n, backend: backend(named: backendName))
    let bound = unitRoundoff * frobeniusNorm(exact) + 16 * Double.ulpOfOne * sigma[0] * Double(r)
    for j in 0..<r { #expect(abs(values[j] - sigma[j]) <= bound, "σ_\(j)") }
  }

  /// The default entry (bidiagonalisation and dqds on the Swift backend) is
  /// accurate to ε·σ₁, not relative to each value: on the graded spectrum above
  /// every value is within a small multiple of n·ε·σ₁ of the exact one.
  @Test func defaultEntryIsAbsolutelyAccurateOnTheGradedSpectrum() {
    let h = scaledHadamard()
    let sigma = (0..<16).map { Float(pow2(-3 * $0)) }
    var a = [Float](repeating: 0, count: 256)
    for i in 0..<16 { for j in 0..<16 { a[i * 16 + j] = h[i * 16 + j] * sigma[j] } }
    let values = singularValues(of: a, rows: 16, columns: 16, backend: Backends.swift)
    for j in 0..<16 { #expect(abs(values[j] - Double(sigma[j])) <= 16 * 16 * Double.ulpOfOne * Double(sigma[0]), "σ_\(j)") }
  }

  /// Jacobi on the awkward shapes of the backend test, within the same bound.
  @Test(arguments: [(17, 7), (7, 17), (65, 65), (127, 31), (1, 9), (9, 1)])
  func jacobiKnownSpectrumWithinRoundingOfTheInput(size: (m: Int, n: Int)) {
    let (m, n) = size
    let r = min(m, n)
    let sigma = (0..<r).map { 10 * pow2(-$0) }
    let exact = matrixWithSpectrum(sigma, rows: m, columns: n, seed: UInt64(m * 31 + n))
    let values = singularValuesByJacobi(of: exact.map { Float($0) }, rows: m, columns: n)
    let bound = unitRoundoff * frobeniusNorm(exact) + 16 * Double.ulpOfOne * sigma[0] * Double(r)
    for j in 0..<r { #expect(abs(values[j] - sigma[j]) <= bound, "σ_\(j)") }
  }

  @Test func repeatedSingularValuesAndExactRank() {
    let (m, n) = (40, 30)
    let sigma: [Double] = [3, 3, 3, 1, 1, 0.5]
    let a = matrixWithSpectrum(sigma, rows: m, columns: n, seed: 4).map { Float($0) }
    let values = singularValues(of: a, rows: m, columns: n, backend: Backends.swift)
    let bound = unitRoundoff * frobeniusNorm(a) * 2
    for j in 0..<6 { #expect(abs(values[j] - sigma[j]) <= bound) }
    // Numerical rank at the usual tolerance σ₁·max(m, n)·ε_f32 is exactly 6.
    let tolerance = values[0] * Double(max(m, n)) * Double(Float.ulpOfOne)
    #expect(values.filter { $0 > tolerance }.count == 6)
    #expect(values[6...].allSatisfy { $0 <= bound })
  }

  @Test func zeroIdentityAndNonFinite() {
    #expect(singularValues(of: [Float](repeating: 0, count: 12), rows: 3, columns: 4) == [0, 0, 0])
    let identity = (0..<25).map { Float($0 % 6 == 0 ? 1 : 0) }
    #expect(singularValues(of: identity, rows: 5, columns: 5) == [1, 1, 1, 1, 1])
    var a = randomMatrix(4, 4, seed: 1)
    a[5] = .nan
    #expect(singularValues(of: a, rows: 4, columns: 4, backend: Backends.swift).allSatisfy { $0.isNaN })
    #expect(singularValuesByJacobi(of: a, rows: 4, columns: 4).allSatisfy { $0.isNaN })
    #expect(singularValuesByJacobi(of: identity, rows: 5, columns: 5) == [1, 1, 1, 1, 1])
  }

  @Test(.enabled(if: Backends.openBLAS != nil, "OpenBLAS libraries not installed"))
  func backendsAgree() throws {
    let openBLAS = try #require(Backends.openBLAS)
    let a = randomMatrix(60, 45, seed: 12)
    let swift = singularValues(of: a, rows: 60, columns: 45, backend: Backends.swift)
    let lapack = singularValues(of: a, rows: 60, columns: 45, backend: openBLAS)
    // Both compute the same Float64 matrix's values by bidiagonalisation
    // (ours with dqds, dgesdd with dlasq1): each accurate to ε·σ₁ absolutely.
    for j in 0..<45 { #expect(abs(swift[j] - lapack[j]) <= 64 * Double.ulpOfOne * swift[0]) }
  }
}

func pow2(_ exponent: Int) -> Double { Double(sign: .plus, exponent: exponent, significand: 1) }
