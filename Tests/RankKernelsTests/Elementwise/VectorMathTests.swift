@testable import RankKernels
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The SIMD elementary functions behind softmax, GELU, LayerNorm and the
/// Gaussian RNG, against Float64 libm, in units in the last place of the
/// Float32 result.
@Suite("SIMD elementary functions")
struct VectorMathTests {
  /// |approx − exact| in ulps of the Float32 nearest to exact.
  private func ulpError(_ approximation: Float, _ exact: Double) -> Double {
    let rounded = Float(exact)
    return abs(Double(approximation) - exact) / Double(rounded.ulp)
  }

  /// Applies `function` to `inputs` eight at a time (the tail padded with 0).
  private func map(_ inputs: [Float], _ function: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
    var outputs: [Float] = []
    var start = 0
    while start < inputs.count {
      var lanes = SIMD8<Float>()
      for lane in 0..<min(8, inputs.count - start) { lanes[lane] = inputs[start + lane] }
      let result = function(lanes)
      for lane in 0..<min(8, inputs.count - start) { outputs.append(result[lane]) }
      start += 8
    }
    return outputs
  }

  @Test func expIsWithinTwoUlpsOnItsNormalRange() {
    // Dense in the softmax range [-20, 0], coarser out to the overflow edge.
    let inputs = stride(from: -20.0, through: 0.0, by: 0.000_731).map { Float($0) }
      + stride(from: -87.3, through: 88.3, by: 0.003_17).map { Float($0) }
      + [0, -0, 1e-30, -1e-30, 0.5 * Float(M_LN2), -0.5 * Float(M_LN2)]
    let outputs = map(inputs, exp8)
    var worst = 0.0
    for (x, y) in zip(inputs, outputs) where exp(Double(x)) >= Double(Float.leastNormalMagnitude) {
      worst = max(worst, ulpError(y, exp(Double(x))))
    }
    #expect(worst <= 2, "worst exp8 error \(worst) ulp")
  }

  @Test func expOfNonPositiveArgumentsIsWithinTwoUlpsAndFlushesSubnormalsToZero() {
    let inputs = stride(from: -20.0, through: 0.0, by: 0.000_731).map { Float($0) }
      + stride(from: -88.5, through: 0.0, by: 0.001_37).map { Float($0) }
      + [0, -0, -1e-30, -0.5 * Float(M_LN2), -87.68, -87.7, -88, -1e4, -.infinity]
    let outputs = map(inputs, expNonPositive8)
    var worst = 0.0
    for (x, y) in zip(inputs, outputs) {
      let exact = exp(Double(x))
      if exact >= Double(Float.leastNormalMagnitude) {
        worst = max(worst, ulpError(y, exact))
      } else {
        // Subnormal results: either the subnormal (to within 2 of its ulps) or 0.
        #expect(y == 0 || abs(Double(y) - exact) <= 2 * Double(Float.leastNonzeroMagnitude), "x = \(x)")
        if x < -87.7 { #expect(y == 0, "x = \(x) gave \(y), not 0") }
      }
    }
    #expect(worst <= 2, "worst expNonPositive8 error \(worst) ulp")
    #expect(map([.nan], expNonPositive8)[0].isNaN)
  }

  @Test func expSaturatesToZeroAndInfinityAndPropagatesNaN() {
    let inputs: [Float] = [-.infinity, -1e4, -88, -87.4, 88.8, 1e4, .infinity, .nan]
    let outputs = map(inputs, exp8)
    #expect(outputs[0] == 0 && outputs[1] == 0 && outputs[2] == 0 && outputs[3] == 0)
    #expect(outputs[4] == .infinity && outputs[5] == .infinity && outputs[6] == .infinity)
    #expect(outputs[7].isNaN)
  }

  @Test func logIsWithinTwoUlpsForPositiveNormals() {
    let inputs = stride(from: -30.0, through: 30.0, by: 0.001_3).map { Float(exp($0)) }
      + [1, Float.leastNormalMagnitude, Float.greatestFiniteMagnitude, 1.000_000_1, 0.999_999_9]
    let outputs = map(inputs, log8)
    var worst = 0.0
    for (x, y) in zip(inputs, outputs) {
      let exact = log(Double(x))
      // Near x = 1 the result's ulp shrinks with it; measure against 1 ulp of
      // the argument's distance from 1 there (the rounding of x itself).
      worst = max(worst, exact == 0 ? Double(abs(y)) / Double(Float(1).ulp) : ulpError(y, exact))
    }
    #expect(worst <= 2, "worst log8 error \(worst) ulp")
  }

  @Test func squareRootIsWithinTwoUlps() {
    let inputs = stride(from: -40.0, through: 40.0, by: 0.003_1).map { Float(exp($0)) }
      + [1, 2, 4, Float.leastNormalMagnitude, Float.greatestFiniteMagnitude]
    let outputs = map(inputs, sqrt8)
    var worst = 0.0
    for (x, y) in zip(inputs, outputs) { worst = max(worst, ulpError(y, Double(x).squareRoot())) }
    #expect(worst <= 2, "worst sqrt8 error \(worst) ulp")
  }

  @Test func sineAndCosineAreWithinTheirAbsoluteBound() {
    let inputs = stride(from: -8 * Double.pi, through: 8 * Double.pi, by: 0.000_97).map { Float($0) }
    var worst = 0.0
    var start = 0
    while start + 8 <= inputs.count {
      var lanes = SIMD8<Float>()
      for lane in 0..<8 { lanes[lane] = inputs[start + lane] }
      let (s, c) = sinCos8(lanes)
      for lane in 0..<8 {
        let theta = Double(lanes[lane])
        worst = max(worst, abs(Double(s[lane]) - sin(theta)), abs(Double(c[lane]) - cos(theta)))
      }
      start += 8
    }
    #expect(worst <= 2e-7, "worst sinCos8 absolute error \(worst)")
  }
}
