import RankKernels
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("GELU and softmax")
struct ActivationTests {
  /// Inputs across GELU's whole range, awkward count (not a multiple of 8).
  private let inputs: [Float] = stride(from: -12.0, through: 12.0, by: 0.0137).map { Float($0) } + [0, -0, 1e-30, -1e-30, 40, -40]

  @Test func exactGELUHasSmallRelativeErrorEverywhere() {
    var output = [Float](repeating: 0, count: inputs.count)
    gelu(inputs, count: inputs.count, approximation: .none, output: &output)
    for (x, y) in zip(inputs, output) {
      let xd = Double(x)
      let cdf = 0.5 * erfc(-xd / 2.0.squareRoot())
      let exact = xd * cdf
      // Condition number |x·f'/f| = |1 + x·φ(x)/Φ(x)| ≈ x² in the negative tail.
      let density = exp(-xd * xd / 2) / (2 * Double.pi).squareRoot()
      let condition = cdf > 0 ? abs(1 + xd * density / cdf) : 0
      // erfc fit 1.2e-7 + exp 2 ulp + roundings, plus κ·u from rounding x/√2.
      // e^(−2z) saturates at e^88.7: outputs below |x|·e^−88.7 ≈ |x|·3e-39 flush to 0.
      let underflow = Double(Float.leastNormalMagnitude) * (1 + abs(xd))
      let bound = (4e-7 + 4 * unitRoundoff * condition) * abs(exact) + underflow
      #expect(abs(Double(y) - exact) <= bound, "x = \(x)")
    }
  }

  @Test func tanhGELUHasSmallRelativeErrorEverywhere() {
    var output = [Float](repeating: 0, count: inputs.count)
    gelu(inputs, count: inputs.count, approximation: .tanh, output: &output)
    for (x, y) in zip(inputs, output) {
      let xd = Double(x)
      let z = 0.797_884_560_802_865_4 * (xd + 0.044715 * xd * xd * xd)
      let sigmoid = 1 / (1 + exp(-2 * z))
      let exact = xd * sigmoid
      // Condition number |1 + x·(1 − s)·2z'(x)|, z' = c·(1 + 3·0.044715·x²).
      let slope = 0.797_884_560_802_865_4 * (1 + 3 * 0.044715 * xd * xd)
      let condition = abs(1 + xd * (1 - sigmoid) * 2 * slope)
      // e^(−2z) saturates at e^88.7: outputs below |x|·e^−88.7 ≈ |x|·3e-39 flush to 0.
      let underflow = Double(Float.leastNormalMagnitude) * (1 + abs(xd))
      let bound = (4e-7 + 4 * unitRoundoff * condition) * abs(exact) + underflow
      #expect(abs(Double(y) - exact) <= bound, "x = \(x)")
    }
  }

  /// The erf form over the whole Float32 line (every 4093rd bit pattern:
  /// 1.05 M values, subnormals, both signs, up to ±3.4e38) against x·Φ(x) in
  /// Float64, in ulps of the correctly rounded result. Budget, in units of
  /// 2⁻²⁴ relative to each intermediate: the rational fit's 0.3; six
  /// roundings of ≤ ½ in the Estrin forms of N and D, which reach the
  /// quotient relatively (each up to 1 where a value sits just above a power
  /// of two); the quotient's and e^r·R's roundings; e^r's reduced argument
  /// and polynomial, ≤ ½ together; and the final FMA, which passes Q's
  /// relative error on at most once (Q/(1 − Q) ≤ 1 for x ≥ 0): about 4.5 if
  /// every rounding lands at its worst. Measured: worst 3.88 ulp (at
  /// x = −3.25); within 2 ulp: 99.97 % of the sweep and 99.94 % of its
  /// |x| ≤ 6 part. Every 37th pattern of |x| ≤ 6, once (58.7 M values):
  /// worst 4.13 ulp (x = −2.77), 99.94 % within 2 ulp. Before the rational
  /// was scaled and its division moved: 4.4 ulp, 99.8 % and 99.6 %.
  @Test func exactGELUWithinFourAndAHalfUlpOverTheFloatLine() {
    var inputs: [Float] = []
    var bits: UInt32 = 0
    while true {
      let x = Float(bitPattern: bits)
      if x.isFinite { inputs.append(x) }
      let (next, overflow) = bits.addingReportingOverflow(4093)
      if overflow { break }
      bits = next
    }
    var output = [Float](repeating: 0, count: inputs.count)
    gelu(inputs, count: inputs.count, approximation: .none, output: &output)
    var worst = 0.0, worstInput: Float = 0, withinTwo = 0, central = 0, centralWithinTwo = 0
    for (x, y) in zip(inputs, output) {
      let xd = Double(x)
      let exact = xd * 0.5 * erfc(-xd / 2.0.squareRoot())
      let rounded = Float(exact)
      let ulp = Double(rounded == 0 ? Float.leastNonzeroMagnitude : rounded.ulp)
      let error = abs(Double(y) - exact) / ulp
      if error > worst { (worst, worstInput) = (error, x) }
      if error <= 2 { withinTwo += 1 }
      if abs(x) <= 6 {
        central += 1
        if error <= 2 { centralWithinTwo += 1 }
      }
    }
    #expect(worst <= 4.5, "worst \(worst) ulp at x = \(worstInput)")
    #expect(Double(withinTwo) >= 0.999 * Double(inputs.count), "\(withinTwo) of \(inputs.count) within 2 ulp")
    #expect(Double(centralWithinTwo) >= 0.998 * Double(central), "\(centralWithinTwo) of \(central) with |x| ≤ 6 within 2 ulp")
    var special: [Float] = [.infinity, -.infinity, -7, 7, 1e38, -1e38]
    gelu(special, count: special.count, output: &special)
    #expect(special[0] == .infinity && special[1] == 0 && special[1].sign == .minus)
    #expect(special[2] < 0 && special[2] > -1e-10 && special[3] == 7 && special[4] == 1e38 && special[5] == 0)
  }

  /// In place equals out of place, bit for bit, at counts that end inside
  /// and across the two-stage loops' 256-element blocks and their tails.
  @Test(arguments: GELUApproximation.allCases, [1, 7, 17, 255, 257, 769])
  func geluInPlaceMatchesOutOfPlace(approximation: GELUApproximation, count: Int) {
    let x = (0..<count).map { Float($0 % 97) * 0.137 - 6.5 }
    var separate = [Float](repeating: 0, count: count)
    gelu(x, count: count, approximation: approximation, output: &separate)
    var inPlace = x
    inPlace.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: count, approximation: approximation, output: $0.baseAddress!) }
    #expect(inPlace.map(\.bitPattern) == separate.map(\.bitPattern))
  }

  @Test(arguments: GELUApproximation.allCases)
  func geluPropagatesNaNAndTakesInfinitiesToTheirLimits(approximation: GELUApproximation) {
    let x: [Float] = [.nan, 1, .infinity, -.infinity]
    var y = [Float](repeating: 0, count: x.count)
    gelu(x, count: x.count, approximation: approximation, output: &y)
    #expect(y[0].isNaN && y[1].isFinite)
    #expect(y[2] == .infinity && y[3] == 0 && y[3].sign == .minus)
  }

  @Test(arguments: [1, 7, 17, 65, 127, 769])
  func softmaxRowsMatchReferenceAndSumToOne(columns: Int) {
    let rows = 3
    var x = randomMatrix(rows, columns, seed: UInt64(columns)).map { 20 * $0 }
    let original = x
    softmaxRows(rows: rows, columns: columns, values: &x)
    for i in 0..<rows {
      let row = original[(i * columns)..<((i + 1) * columns)].map(Double.init)
      let maximum = row.max()!
      let total = row.reduce(0) { $0 + exp($1 - maximum) }
      var sum = 0.0
      for j in 0..<columns {
        let expected = exp(row[j] - maximum) / total
        // exp amplifies the rounding of s − max by |s − max|; the sum adds n·u.
        let bound = (Double(columns) + 8 + abs(row[j] - maximum)) * unitRoundoff * expected + 1e-45
        #expect(abs(Double(x[i * columns + j]) - expected) <= bound)
        sum += Double(x[i * columns + j])
      }
      #expect(abs(sum - 1) <= (2 * Double(columns) + 8) * unitRoundoff)
    }
  }

  @Test func softmaxHandlesHugeLogitsAndMaskedEntries() {
    var x: [Float] = [1e4, -1e4, 1e4 - 1, -.infinity, 0]
    softmaxRows(rows: 1, columns: 5, values: &x)
    #expect(x.allSatisfy { $0.isFinite })
    #expect(x[1] == 0 && x[3] == 0 && x[4] == 0)
    #expect(abs(Double(x[0]) - 1 / (1 + exp(-1.0))) < 1e-6)
  }
}

/// Array conveniences used by the tests.
func gelu(_ x: [Float], count: Int, approximation: GELUApproximation = .none, output: inout [Float]) {
  output.withUnsafeMutableBufferPointer { RankKernels.gelu(x, count: count, approximation: approximation, output: $0.baseAddress!) }
}
func softmaxRows(rows: Int, columns: Int, values: inout [Float]) {
  values.withUnsafeMutableBufferPointer { RankKernels.softmaxRows(rows: rows, columns: columns, values: $0.baseAddress!) }
}
func layerNorm(rows: Int, columns: Int, input: [Float], gamma: [Float]?, beta: [Float]?, eps: Float, output: inout [Float], threads: Int = 1) {
  output.withUnsafeMutableBufferPointer { out in
    RankKernels.layerNorm(rows: rows, columns: columns, input: input, gamma: gamma, beta: beta, eps: eps, output: out.baseAddress!, threads: threads)
  }
}
func addLayerNorm(rows: Int, columns: Int, input: [Float], residual: [Float], gamma: [Float]?, beta: [Float]?, eps: Float, sum: inout [Float], output: inout [Float]) {
  sum.withUnsafeMutableBufferPointer { s in
    output.withUnsafeMutableBufferPointer { out in
      RankKernels.addLayerNorm(rows: rows, columns: columns, input: input, residual: residual, gamma: gamma, beta: beta, eps: eps, sum: s.baseAddress!, output: out.baseAddress!)
    }
  }
}

@Suite("SwiGLU")
struct SwiGLUTests {
  /// up·silu(gate) against Float64 at awkward counts: SiLU's condition number
  /// |1 + g·(1 − s(g))| is below 1 + |g|, so the bound is a few ulp times that.
  @Test(arguments: [1, 7, 17, 65, 127, 769])
  func matchesFloat64(count: Int) {
    let gate = (0..<count).map { Float($0 % 211) * 0.19 - 20 }, up = (0..<count).map { Float(($0 * 37) % 101) * 0.03 - 1.5 }
    var output = [Float](repeating: 0, count: count)
    swiglu(gate: gate, up: up, count: count, output: &output)
    for i in 0..<count {
      let g = Double(gate[i]), exact = Double(up[i]) * g / (1 + exp(-g))
      let bound = 8 * unitRoundoff * (1 + abs(g)) * abs(exact) + 1e-44
      #expect(abs(Double(output[i]) - exact) <= bound, "g = \(g), up = \(up[i])")
    }
  }

  @Test func inPlaceTailsAndLimits() {
    let gate: [Float] = [.nan, 100, -100, .infinity, 0, 3, -3, 1, -0.5]
    var up: [Float] = [1, 2, 2, 2, 5, 1, 1, -1, 4]
    var separate = [Float](repeating: 0, count: gate.count)
    swiglu(gate: gate, up: up, count: gate.count, output: &separate)
    up.withUnsafeMutableBufferPointer { swiglu(gate: gate, up: $0.baseAddress!, count: gate.count, output: $0.baseAddress!) }
    #expect(up[0].isNaN && up[1] == 200 && abs(up[2]) < 1e-36 && up[3] == .infinity && up[4] == 0)
    #expect(separate.dropFirst().map(\.bitPattern) == up.dropFirst().map(\.bitPattern))
  }
}
