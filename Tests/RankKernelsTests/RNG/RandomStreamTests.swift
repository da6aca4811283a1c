import RankKernels
import Testing

@Suite("Philox4x32-10 and RandomStream")
struct RandomStreamTests {
  /// Random123's kat_vectors for philox4x32 with 10 rounds:
  /// counter (4 words), key (2 words) → output (4 words).
  @Test(arguments: [
    (SIMD4<UInt32>(0, 0, 0, 0), SIMD2<UInt32>(0, 0), SIMD4<UInt32>(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
    (SIMD4<UInt32>(repeating: 0xffff_ffff), SIMD2<UInt32>(repeating: 0xffff_ffff),
     SIMD4<UInt32>(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
    (SIMD4<UInt32>(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2<UInt32>(0xa409_3822, 0x299f_31d0),
     SIMD4<UInt32>(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
  ])
  func knownAnswers(counter: SIMD4<UInt32>, key: SIMD2<UInt32>, expected: SIMD4<UInt32>) {
    #expect(Philox4x32.block(counter: counter, key: key) == expected)
  }

  @Test func bulkUniformsMatchScalarDefinition() {
    let stream = RandomStream(seed: 0x1234_5678_9abc_def0, stream: 42)
    let count = 333
    var bulk = [Float](repeating: 0, count: count)
    stream.fillUniform(&bulk, count: count, startingAt: 5)
    for i in 0..<count { #expect(bulk[i] == stream.uniform(at: UInt64(5 + i))) }
    #expect(bulk.allSatisfy { $0 > 0 && $0 < 1 })
  }

  @Test func numbersDependOnlyOnPositionNotOnSplitOrThreads() {
    let stream = RandomStream(seed: 7, stream: 3)
    let count = 200_003
    var whole = [Float](repeating: 0, count: count)
    stream.fillNormal(&whole, count: count, threads: 1)
    for threads in [2, 3, 8] {
      var parallel = [Float](repeating: 0, count: count)
      stream.fillNormal(&parallel, count: count, threads: threads)
      #expect(parallel == whole)
    }
    // Pieces at odd offsets reproduce the same positions.
    var pieces = [Float](repeating: 0, count: count)
    var start = 0
    for length in [1, 7, 31, 33, 1000, 65_537] + [Int](repeating: 5000, count: 30) where start < count {
      let piece = min(length, count - start)
      pieces.withUnsafeMutableBufferPointer {
        stream.fillNormal($0.baseAddress! + start, count: piece, startingAt: UInt64(start))
      }
      start += piece
    }
    pieces.withUnsafeMutableBufferPointer {
      stream.fillNormal($0.baseAddress! + start, count: count - start, startingAt: UInt64(start))
    }
    #expect(pieces == whole)
  }

  @Test func streamsAndSeedsDiffer() {
    var a = [Float](repeating: 0, count: 64), b = a, c = a
    RandomStream(seed: 1, stream: 0).fillUniform(&a, count: 64)
    RandomStream(seed: 1, stream: 1).fillUniform(&b, count: 64)
    RandomStream(seed: 2, stream: 0).fillUniform(&c, count: 64)
    #expect(a != b && a != c && b != c)
  }

  /// The SIMD log/sincos approximations against Float64 Box–Muller on the same bits.
  @Test func normalsMatchFloat64BoxMuller() {
    let stream = RandomStream(seed: 11, stream: 5)
    var values = [Float](repeating: 0, count: 4096)
    stream.fillNormal(&values, count: values.count)
    var worst = 0.0
    for (i, value) in values.enumerated() {
      let reference = stream.normalReference(at: UInt64(i))
      // |z| ≤ 6.7: a few ulps of the radius and ~2e-7 absolute in sin/cos.
      worst = max(worst, abs(Double(value) - reference) / (1e-6 + 8 * unitRoundoff * abs(reference)))
    }
    #expect(worst <= 1)
  }

  @Test func normalMomentsAndKolmogorovSmirnov() {
    let count = 200_000
    var values = [Float](repeating: 0, count: count)
    RandomStream(seed: 2024, stream: 9).fillNormal(&values, count: count, mean: 0, standardDeviation: 1, threads: 2)
    let doubles = values.map(Double.init)
    let mean = doubles.reduce(0, +) / Double(count)
    let variance = doubles.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count - 1)
    let kurtosis = doubles.reduce(0) { $0 + (($1 - mean) * ($1 - mean)) * (($1 - mean) * ($1 - mean)) } / Double(count) / (variance * variance)
    // Five standard errors: a 1-in-3.5-million false alarm per check.
    #expect(abs(mean) < 5 / Double(count).squareRoot())
    #expect(abs(variance - 1) < 5 * (2 / Double(count)).squareRoot())
    #expect(abs(kurtosis - 3) < 5 * (24 / Double(count)).squareRoot())
    // One-sample KS against Φ; critical value at α = 0.001 is 1.949/√N.
    let sorted = doubles.sorted()
    var statistic = 0.0
    for (i, x) in sorted.enumerated() {
      let cdf = normalCDF(x)
      statistic = max(statistic, abs(Double(i + 1) / Double(count) - cdf), abs(cdf - Double(i) / Double(count)))
    }
    #expect(statistic < 1.949 / Double(count).squareRoot(), "KS statistic \(statistic)")
  }

  @Test func meanAndStandardDeviationAreApplied() {
    var base = [Float](repeating: 0, count: 100), shifted = base
    let stream = RandomStream(seed: 3)
    stream.fillNormal(&base, count: 100)
    stream.fillNormal(&shifted, count: 100, mean: 5, standardDeviation: 0.02)
    for i in 0..<100 { #expect(abs(shifted[i] - (5 + 0.02 * base[i])) <= 1e-6) }
  }

  /// A family (the block counter's high word) gives a disjoint stream whose
  /// bulk fill still matches the scalar definition; family 0 is the default.
  @Test func familiesAreDisjointStreams() {
    let count = 1000
    var plain = [Float](repeating: 0, count: count), other = plain, again = plain
    RandomStream(seed: 9, stream: 4).fillUniform(&plain, count: count)
    RandomStream(seed: 9, stream: 4, family: 0).fillUniform(&again, count: count)
    let family = RandomStream(seed: 9, stream: 4, family: 3)
    family.fillUniform(&other, count: count, startingAt: 5)
    #expect(plain == again)
    #expect(zip(plain, other).filter { $0 == $1 }.count < 5)
    for p in [0, 7, 31, 999] { #expect(other[p] == family.uniform(at: UInt64(p + 5))) }
  }
}
