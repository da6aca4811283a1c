import RankKernels
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Fused multi-head attention against a Float64 reference")
struct AttentionTests {
  struct Problem {
    var shape: AttentionShape
    var q: [Float], k: [Float], v: [Float]
    var mask: [Float]?
  }

  private func makeProblem(batch: Int, n: Int, heads: Int, dk: Int, logitScale: Float = 1, masked: Bool = false) -> Problem {
    let shape = AttentionShape(batch: batch, sequenceLength: n, heads: heads, headDimension: dk)
    let size = batch * n * heads * dk
    var mask: [Float]? = nil
    if masked {
      // Key j hidden from query i when (i + 2j) % 5 == 0 (but never the diagonal).
      mask = (0..<(batch * n * n)).map { index in
        let i = (index / n) % n, j = index % n
        return (i + 2 * j) % 5 == 0 && i != j ? -.infinity : 0.25 * Float(j % 3)
      }
    }
    return Problem(
      shape: shape, q: randomMatrix(size, 1, seed: 1).map { $0 * logitScale },
      k: randomMatrix(size, 1, seed: 2), v: randomMatrix(size, 1, seed: 3), mask: mask)
  }

  /// Float64 attention: outputs, probabilities and entropies, plus the bound on
  /// the Float32 result: logits err ≤ γ_dk·Σ|q||k|·scale, which perturbs p_j by
  /// ≤ 2·max|δs| relative; sums add (n + 8)·u; output = Σ p v adds γ_n.
  private func reference(_ problem: Problem) -> (output: [Double], probabilities: [Double], entropy: [Double], outputBound: Double, entropyBound: [Double]) {
    let (b, n, h, dk) = (problem.shape.batch, problem.shape.sequenceLength, problem.shape.heads, problem.shape.headDimension)
    let d = h * dk
    let scale = 1 / Double(dk).squareRoot()
    var output = [Double](repeating: 0, count: b * n * d)
    var probabilities = [Double](repeating: 0, count: b * h * n * n)
    var entropy = [Double](repeating: 0, count: b * h * n)
    var entropyBound = [Double](repeating: 0, count: b * h * n)
    var worstLogitError = 0.0
    let maxValue = problem.v.map { abs(Double($0)) }.max() ?? 0
    for batch in 0..<b {
      for head in 0..<h {
        for i in 0..<n {
          var logits = [Double](repeating: 0, count: n)
          var rowLogitError = 0.0
          for j in 0..<n {
            var dot = 0.0, magnitude = 0.0
            for c in 0..<dk {
              let product = Double(problem.q[(batch * n + i) * d + head * dk + c]) * Double(problem.k[(batch * n + j) * d + head * dk + c])
              dot += product
              magnitude += abs(product)
            }
            logits[j] = dot * scale + Double(problem.mask?[(batch * n + i) * n + j] ?? 0)
            // A masked key (−inf) gets weight exactly 0 and adds no error.
            if logits[j].isFinite {
              rowLogitError = max(rowLogitError, Double(dk + 3) * unitRoundoff * (magnitude * scale + abs(logits[j])))
            }
          }
          worstLogitError = max(worstLogitError, rowLogitError)
          let maximum = logits.max()!
          let weights = logits.map { exp($0 - maximum) }
          let total = weights.reduce(0, +)
          var h = 0.0
          for j in 0..<n {
            let p = weights[j] / total
            probabilities[((batch * problem.shape.heads + head) * n + i) * n + j] = p
            if p > 0 { h -= p * log(p) }
            for c in 0..<dk { output[(batch * n + i) * d + head * dk + c] += p * Double(problem.v[(batch * n + j) * d + head * dk + c]) }
          }
          entropy[(batch * problem.shape.heads + head) * n + i] = h
          let finiteLogits = logits.filter { $0.isFinite }.map { abs($0 - maximum) }.max() ?? 0
          entropyBound[(batch * problem.shape.heads + head) * n + i] =
            (2 * rowLogitError + (Double(n) + 8) * unitRoundoff) * (1 + finiteLogits + log(Double(n)))
        }
      }
    }
    let outputBound = (2 * worstLogitError + (2 * Double(n) + 8) * unitRoundoff) * maxValue
    return (output, probabilities, entropy, outputBound, entropyBound)
  }

  /// Outputs, probabilities (NaN when `withProbabilities` is false: none asked for) and entropies.
  private func run(_ problem: Problem, threads: Int, withProbabilities: Bool = true) -> (output: [Float], probabilities: [Float], entropy: [Float]) {
    let s = problem.shape
    var output = [Float](repeating: .nan, count: s.batch * s.sequenceLength * s.modelDimension)
    var probabilities = [Float](repeating: .nan, count: s.batch * s.heads * s.sequenceLength * s.sequenceLength)
    var entropy = [Float](repeating: .nan, count: s.batch * s.heads * s.sequenceLength)
    output.withUnsafeMutableBufferPointer { o in
      probabilities.withUnsafeMutableBufferPointer { p in
        entropy.withUnsafeMutableBufferPointer { e in
          let p = withProbabilities ? p.baseAddress! : nil
          if let mask = problem.mask {
            multiHeadAttention(
              shape: s, query: problem.q, key: problem.k, value: problem.v, mask: mask,
              maskBatchStride: s.sequenceLength * s.sequenceLength, output: o.baseAddress!,
              probabilities: p, rowEntropy: e.baseAddress!, threads: threads)
          } else {
            multiHeadAttention(
              shape: s, query: problem.q, key: problem.k, value: problem.v, output: o.baseAddress!,
              probabilities: p, rowEntropy: e.baseAddress!, threads: threads)
          }
        }
      }
    }
    return (output, probabilities, entropy)
  }

  /// At n = 16 on AVX-512 a head asked for no probabilities runs as one
  /// 16-row pass instead of 6-row strips (which run when probabilities are
  /// asked for, and everywhere else): outputs and entropies equal, bit for
  /// bit, with and without a mask, for head dimensions at which the strips
  /// normalise the outputs (16) and the probabilities (64) — and against the
  /// Float64 reference. Elsewhere both runs take the strips.
  @Test(arguments: [16, 32, 64], [false, true])
  func sixteenTokenHeadsMatchTheStripsBitForBit(headDimension dk: Int, masked: Bool) {
    let problem = makeProblem(batch: 2, n: 16, heads: 3, dk: dk, logitScale: 3, masked: masked)
    let strips = run(problem, threads: 1), whole = run(problem, threads: 2, withProbabilities: false)
    #expect(whole.output.map(\.bitPattern) == strips.output.map(\.bitPattern))
    #expect(whole.entropy.map(\.bitPattern) == strips.entropy.map(\.bitPattern))
    let expected = reference(problem)
    for (index, value) in expected.output.enumerated() {
      #expect(abs(Double(whole.output[index]) - value) <= expected.outputBound, "output \(index)")
    }
    for (index, h) in expected.entropy.enumerated() {
      #expect(abs(Double(whole.entropy[index]) - h) <= expected.entropyBound[index], "entropy \(index)")
    }
  }

  /// n spans one key block (1, 7, 17, 65) and several (300 > 256, in three
  /// query blocks of 102, 102, 96 rows); row counts that are not multiples of
  /// the 6-row strip (1, 7, 17, 65, 96 + 6) reach the staged last strip, and
  /// head dimensions 7, 8, 17 the zero-padded last value panel.
  @Test(arguments: [(1, 1, 1, 7), (2, 7, 3, 16), (1, 17, 2, 64), (2, 65, 2, 8), (1, 300, 1, 17)])
  func matchesReference(batch: Int, n: Int, heads: Int, dk: Int) {
    for masked in [false, true] {
      let problem = makeProblem(batch: batch, n: n, heads: heads, dk: dk, logitScale: 3, masked: masked)
      let expected = reference(problem)
      #expect(expected.outputBound.isFinite && expected.entropyBound.allSatisfy(\.isFinite))
      let result = run(problem, threads: 2)
      for (index, value) in expected.output.enumerated() {
        #expect(abs(Double(result.output[index]) - value) <= expected.outputBound, "output \(index) masked \(masked)")
      }
      let largestValue = max(1e-30, problem.v.map { abs(Double($0)) }.max()!)
      for (index, p) in expected.probabilities.enumerated() {
        // Relative error of p: the output bound without its |v| factor.
        let bound = (2 * expected.outputBound / largestValue + 1e-7) * max(p, 1e-30)
        #expect(abs(Double(result.probabilities[index]) - p) <= max(bound, 1e-45), "p \(index)")
      }
      for (index, h) in expected.entropy.enumerated() {
        #expect(abs(Double(result.entropy[index]) - h) <= expected.entropyBound[index], "entropy \(index) masked \(masked)")
      }
    }
  }

  @Test func probabilityRowsSumToOne() {
    let problem = makeProblem(batch: 1, n: 300, heads: 2, dk: 8, logitScale: 4, masked: true)
    let result = run(problem, threads: 1)
    for row in 0..<(2 * 300) {
      let sum = result.probabilities[(row * 300)..<((row + 1) * 300)].reduce(0.0) { $0 + Double($1) }
      #expect(abs(sum - 1) <= (2 * 300 + 8) * unitRoundoff)
    }
  }

  @Test func hugeLogitsStayFinite() {
    // Logits of ±1e4 (q, k entries ~±100 with dk = 16 and scale 1/4).
    let problem = makeProblem(batch: 1, n: 33, heads: 2, dk: 16, logitScale: 1)
    var scaled = problem
    scaled.q = problem.q.map { $0 * 2500 }
    let result = run(scaled, threads: 1)
    #expect(result.output.allSatisfy { $0.isFinite })
    #expect(result.probabilities.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
    #expect(result.entropy.allSatisfy { $0.isFinite && $0 >= -1e-3 })
  }

  @Test func resultDoesNotDependOnThreadCount() {
    let problem = makeProblem(batch: 3, n: 130, heads: 3, dk: 16, masked: true)
    let single = run(problem, threads: 1)
    let multi = run(problem, threads: 4)
    #expect(single.output == multi.output)
    #expect(single.entropy == multi.entropy)
  }

  @Test func fullyMaskedRowIsNaNAndOthersAreNot() {
    var problem = makeProblem(batch: 1, n: 5, heads: 1, dk: 4, masked: false)
    var mask = [Float](repeating: 0, count: 25)
    for j in 0..<5 { mask[2 * 5 + j] = -.infinity }
    problem.mask = mask
    let result = run(problem, threads: 1)
    for i in 0..<5 {
      for c in 0..<4 { #expect(result.output[i * 4 + c].isNaN == (i == 2)) }
    }
  }

  /// Left padding longer than a key block: rows whose first 256 keys are all
  /// −inf must still attend to the keys after them (shifting by the running
  /// maximum −inf would turn −inf − (−inf) into NaN).
  @Test func rowMaskedThroughTheFirstKeyBlockAttendsToLaterKeys() {
    let n = 300, maskedKeys = 270
    var problem = makeProblem(batch: 1, n: n, heads: 2, dk: 8, logitScale: 2)
    problem.mask = (0..<(n * n)).map { index in index % n < maskedKeys && (index / n) % 3 == 0 ? -.infinity : 0 }
    let expected = reference(problem)
    #expect(expected.outputBound.isFinite && expected.entropyBound.allSatisfy(\.isFinite))
    let result = run(problem, threads: 2)
    for (index, value) in expected.output.enumerated() {
      #expect(abs(Double(result.output[index]) - value) <= expected.outputBound, "output \(index)")
    }
    for (index, h) in expected.entropy.enumerated() {
      #expect(abs(Double(result.entropy[index]) - h) <= expected.entropyBound[index], "entropy \(index)")
    }
  }

  @Test func uniformAttentionHasEntropyLogN() {
    // Zero queries: every logit is 0, so p = 1/n and H = log n exactly.
    let n = 40
    var problem = makeProblem(batch: 1, n: n, heads: 1, dk: 8)
    problem.q = [Float](repeating: 0, count: problem.q.count)
    let result = run(problem, threads: 1)
    for h in result.entropy { #expect(abs(Double(h) - log(Double(n))) <= 8 * Double(n) * unitRoundoff) }
  }
}
