@testable import CollapseLab
import Foundation
import RankKernels
import Testing

@Suite("Bartlett factors and gamma variates of the sketch attention")
struct SketchAttentionTests {
  /// R_ii² ~ χ²(ν − i): mean ν − i, variance 2(ν − i); R_ij ~ N(0, 1) above
  /// the diagonal, 0 below. Means over N draws must lie within 5 standard
  /// errors (false alarm ≈ 6e-7 per check). size == degrees reaches
  /// χ²(1), i.e. gamma shape ½ (the boosted branch).
  @Test(arguments: [(3, 3), (4, 16)])
  func bartlettMoments(shape: (size: Int, degrees: Int)) {
    let (n, degrees) = shape
    let count = 20_000
    let r = bartlettFactors(
      count: count, size: n, degrees: degrees,
      normals: RandomStream(seed: 3, stream: 1), uniforms: RandomStream(seed: 3, stream: 2))
    for i in 0..<n {
      let nu = Double(degrees - i)
      let squares = (0..<count).map { Double(r[$0 * n * n + i * n + i]) * Double(r[$0 * n * n + i * n + i]) }
      let mean = squares.reduce(0, +) / Double(count)
      #expect(abs(mean - nu) <= 5 * (2 * nu / Double(count)).squareRoot(), "E[R_\(i)\(i)²] = \(mean), expected \(nu)")
      let variance = squares.reduce(0) { $0 + ($1 - nu) * ($1 - nu) } / Double(count)
      // Var of the sample variance of χ²(ν): (μ₄ − σ⁴)/N with μ₄ = 12ν(ν + 4).
      let varianceError = ((12 * nu * (nu + 4) - 4 * nu * nu) / Double(count)).squareRoot()
      #expect(abs(variance - 2 * nu) <= 5 * varianceError, "Var[R_\(i)\(i)²] = \(variance), expected \(2 * nu)")
      for j in 0..<n where j != i {
        let values = (0..<count).map { Double(r[$0 * n * n + i * n + j]) }
        if j < i {
          #expect(values.allSatisfy { $0 == 0 })
        } else {
          let m = values.reduce(0, +) / Double(count)
          let v = values.reduce(0) { $0 + $1 * $1 } / Double(count)
          #expect(abs(m) <= 5 / Double(count).squareRoot())
          #expect(abs(v - 1) <= 5 * (2 / Double(count)).squareRoot())
        }
      }
    }
  }

  /// Marsaglia–Tsang with forced rejections: the sampler must keep drawing
  /// (from the positions after the bulk tries) and still return a valid value.
  @Test func gammaKeepsTryingAfterRejections() {
    var calls = 0
    let value = sampleGamma(
      shape: 2,
      normal: { k in calls = max(calls, k + 1); return k < 6 ? -100 : 0.1 },  // 1 + c·x ≤ 0: rejected
      uniform: { _ in 0.5 })
    #expect(calls == 7)
    #expect(value > 0)
  }
}
