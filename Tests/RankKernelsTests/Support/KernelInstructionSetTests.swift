@_spi(Testing) import RankKernels
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Products that reach every dispatched tile: the small-product path (the
/// 16-row and 12-row in-place tiles, remainders, edge panels), the few-rows
/// path that reads B in place, and the blocked path (12-row packed tiles,
/// depth blocks past KC = 384, row blocks past MC = 144), at awkward sizes.
private let shapes: [(m: Int, n: Int, k: Int)] = [
  (1, 1, 1), (7, 17, 65), (12, 16, 16), (13, 31, 17), (16, 16, 16), (16, 64, 16), (16, 16, 64),
  (16, 17, 5), (16, 48, 16), (16, 32, 64), (18, 48, 33), (24, 64, 64), (16, 768, 16), (16, 40, 769), (127, 65, 17),
  (150, 130, 385), (16, 80, 17), (16, 769, 17), (16, 65, 385),
]

/// The AVX-512 kernels and random fills against the AVX2 ones, bit for bit. Serialized: each
/// test switches the process-wide instruction set and needs it to stay put
/// while it runs (other suites' results do not depend on it).
@Suite(
  "AVX-512 and AVX2 kernels give identical bits", .serialized,
  .enabled(if: CPUFeatures.cpuHasAVX512F && CPUFeatures.builtWithAVX512, "this CPU has no AVX-512F: only the AVX2 path can run")
)
struct KernelInstructionSetTests {
  @Test(arguments: [Transpose.noTranspose, .transpose], [Transpose.noTranspose, .transpose])
  func sgemmIsBitIdentical(transA: Transpose, transB: Transpose) {
    for (m, n, k) in shapes {
      for (alpha, beta, threads) in [(Float(1), Float(0), 1), (-0.75, 1.5, 2)] {
        let a = randomMatrix(m, k, seed: 11), b = randomMatrix(k, n, seed: 12), c0 = randomMatrix(m, n, seed: 13)
        let (lda, ldb) = (transA == .noTranspose ? k : m, transB == .noTranspose ? n : k)
        let results = onBothInstructionSets {
          var c = c0
          sgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: beta, c: &c, ldc: n, threads: threads, backend: Backends.swift)
          return c
        }
        #expect(bits(results.avx2) == bits(results.avx512), "sgemm \(transA) \(transB) \(m)×\(n)×\(k) beta \(beta)")
      }
    }
  }

  @Test func stridedBatchedAndTriangularProductsAreBitIdentical() {
    let (m, n, k, batch) = (16, 16, 16, 12)
    let a = randomMatrix(batch * m, k, seed: 21), b = randomMatrix(batch * k, n, seed: 22)
    let batched = onBothInstructionSets {
      var c = [Float](repeating: 0, count: batch * m * n)
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          c.withUnsafeMutableBufferPointer { c in
            sgemmStridedBatched(
              transB: .transpose, m: m, n: n, k: k, a: a.baseAddress!, lda: k, strideA: m * k, b: b.baseAddress!,
              ldb: k, strideB: k * n, c: c.baseAddress!, ldc: n, strideC: m * n, batchCount: batch, threads: 2,
              backend: Backends.swift)
          }
        }
      }
      return c
    }
    #expect(bits(batched.avx2) == bits(batched.avx512))

    // The blocked loops, and m = 16 (16-row tiles on AVX-512) with a partial last panel and k < m.
    for (rows, columns, depth) in [(130, 70, 100), (16, 3072, 16), (16, 65, 11)] {
      let lower = randomMatrix(rows, depth, seed: 23), right = randomMatrix(depth, columns, seed: 24)
      let triangular = onBothInstructionSets {
        var c = [Float](repeating: 0, count: rows * columns)
        lower.withUnsafeBufferPointer { l in
          right.withUnsafeBufferPointer { r in
            c.withUnsafeMutableBufferPointer { c in
              lowerTriangularProduct(
                m: rows, n: columns, k: depth, a: l.baseAddress!, lda: depth, b: r.baseAddress!, ldb: columns,
                c: c.baseAddress!, ldc: columns, threads: 2, backend: Backends.swift)
            }
          }
        }
        return c
      }
      #expect(bits(triangular.avx2) == bits(triangular.avx512), "lowerTriangularProduct \(rows)×\(columns)×\(depth)")
    }
  }

  /// Attention's in-place 6-row tiles (query strips, probability strips).
  /// The Float64 Gram matrices of the rank metrics and the engines' factors,
  /// at awkward row counts (the 4-row and 3-row blocks' edges) and widths
  /// (the 128-column chunks' tails).
  @Test(arguments: [(1, 1), (2, 9), (5, 17), (7, 65), (16, 768), (17, 3072), (65, 127), (128, 769)])
  func gramMatricesAreBitIdentical(rows: Int, columns: Int) {
    // Entries scaled over 2⁻²⁰…2²⁰: Float32 products are exact in Float64, and
    // sums of uniform entries would be too, so any summation order would give
    // the same bits; spread over 40 binades, the Float64 sums round.
    let x = randomMatrix(rows, columns, seed: 21).enumerated().map { $1 * Float(sign: .plus, exponent: ($0 * 7919) % 41 - 20, significand: 1) }
    let results = onBothInstructionSets {
      var gram = [Double](repeating: .nan, count: rows * (rows + 3))
      gram.withUnsafeMutableBufferPointer { gramMatrix(rows: rows, columns: columns, x: x, ldx: columns, gram: $0.baseAddress!, ldg: rows + 3) }
      return gram
    }
    #expect(results.avx2.map(\.bitPattern) == results.avx512.map(\.bitPattern), "gramMatrix \(rows)×\(columns)")
  }

  /// GELU's erf form: whole 16-lane vectors take the AVX-512 loop, the rest
  /// the 8-lane one; values from the far tails (below −6: the scalar pass),
  /// the clamp at 6, zeros, subnormals, infinities and NaNs, in place too.
  @Test(arguments: [1, 7, 15, 16, 17, 33, 769, 3072])
  func geluIsBitIdentical(count: Int) {
    let specials: [Float] = [
      0, -0, 6, -6, 6.000_001, -6.000_001, -9.9, -40, .leastNonzeroMagnitude, -77 * .leastNonzeroMagnitude, .infinity, -.infinity, .nan, -.nan,
      .greatestFiniteMagnitude, -.leastNormalMagnitude,
    ]
    let x = randomMatrix(1, count, seed: 31).enumerated().map { i, value in
      i % 5 == 4 ? specials[(i / 5) % specials.count] : value * 12
    }
    for inPlace in [false, true] {
      let results = onBothInstructionSets {
        var values = x, output = [Float](repeating: .nan, count: count)
        if inPlace {
          values.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: count, output: $0.baseAddress!) }
          return values
        }
        output.withUnsafeMutableBufferPointer { gelu(x, count: count, output: $0.baseAddress!) }
        return output
      }
      #expect(bits(results.avx2) == bits(results.avx512), "gelu, \(count) values, in place: \(inPlace)")
    }
  }

  /// Without probabilities, n = 16 runs as one 16-row pass with AVX-512
  /// and as 6-row strips with AVX2: outputs and entropies, masked or not.
  @Test(arguments: [16, 64], [false, true])
  func sixteenTokenAttentionIsBitIdentical(headDimension: Int, masked: Bool) {
    let n = 16
    let shape = AttentionShape(batch: 1, sequenceLength: n, heads: 3, headDimension: headDimension)
    let width = shape.heads * headDimension
    let q = randomMatrix(n, width, seed: 34), k = randomMatrix(n, width, seed: 35), v = randomMatrix(n, width, seed: 36)
    // Causal: each query sees itself and the keys before it.
    let mask = (0..<(n * n)).map { $0 % n > $0 / n ? -Float.infinity : 0 }
    let results = onBothInstructionSets {
      var output = [Float](repeating: 0, count: n * width), entropy = [Float](repeating: 0, count: shape.heads * n)
      output.withUnsafeMutableBufferPointer { o in
        entropy.withUnsafeMutableBufferPointer { e in
          mask.withUnsafeBufferPointer { m in
            multiHeadAttention(
              shape: shape, query: q, key: k, value: v, mask: masked ? m.baseAddress! : nil, output: o.baseAddress!,
              probabilities: nil, rowEntropy: e.baseAddress!, threads: 2)
          }
        }
      }
      return output + entropy
    }
    #expect(bits(results.avx2) == bits(results.avx512), "d_k = \(headDimension), masked: \(masked)")
  }

  @Test(arguments: [(16, 64), (17, 32), (128, 64)])
  func attentionIsBitIdentical(sequenceLength: Int, headDimension: Int) {
    let shape = AttentionShape(batch: 1, sequenceLength: sequenceLength, heads: 3, headDimension: headDimension)
    let width = shape.heads * headDimension, count = sequenceLength * width
    let q = randomMatrix(sequenceLength, width, seed: 31), k = randomMatrix(sequenceLength, width, seed: 32)
    let v = randomMatrix(sequenceLength, width, seed: 33)
    let results = onBothInstructionSets {
      var output = [Float](repeating: 0, count: count)
      var probabilities = [Float](repeating: 0, count: shape.heads * sequenceLength * sequenceLength)
      q.withUnsafeBufferPointer { q in
        k.withUnsafeBufferPointer { k in
          v.withUnsafeBufferPointer { v in
            multiHeadAttention(
              shape: shape, query: q.baseAddress!, key: k.baseAddress!, value: v.baseAddress!,
              output: &output, probabilities: &probabilities, threads: 2)
          }
        }
      }
      return output + probabilities
    }
    #expect(bits(results.avx2) == bits(results.avx512))
  }

  /// The 16-lane random fills: odd and even first groups, partial groups at
  /// either end, one and two threads, a family stream.
  @Test(arguments: [(0, 1), (5, 31), (32, 64), (40, 1000), (199, 5000), (65_539, 70_001)])
  func randomNumbersAreBitIdentical(start: Int, count: Int) {
    for (threads, stream) in [(1, RandomStream(seed: 5, stream: 3)), (2, RandomStream(seed: 9, stream: 1, family: 2))] {
      let results = onBothInstructionSets {
        var values = [Float](repeating: 0, count: 2 * count)
        values.withUnsafeMutableBufferPointer { buffer in
          stream.fillNormal(
            buffer.baseAddress!, count: count, startingAt: UInt64(start), mean: 0.5, standardDeviation: 2,
            threads: threads)
          stream.fillUniform(buffer.baseAddress! + count, count: count, startingAt: UInt64(start), threads: threads)
        }
        return values
      }
      #expect(bits(results.avx2) == bits(results.avx512), "start \(start), count \(count), threads \(threads)")
    }
  }

  @Test func theSwitchChangesWhatReportsAsRunning() {
    let selected = onBothInstructionSets { [Float(CPUFeatures.kernelInstructionSet == .avx512 ? 1 : 0)] }
    #expect(selected.avx2 == [0] && selected.avx512 == [1])
  }
}

@Suite("Choosing the kernels' instruction set at load time")
struct KernelInstructionSetChoiceTests {
  /// Without RANKKERNELS_ISA the best the CPU supports runs.
  @Test func defaultIsTheWidestTheCPUSupports() {
    #if arch(x86_64)
    guard getenv("RANKKERNELS_ISA") == nil else { return }
    #expect(CPUFeatures.kernelInstructionSet == (CPUFeatures.cpuHasAVX512F ? .avx512 : .avx2))
    #else
    #expect(CPUFeatures.kernelInstructionSet == .portable)
    #endif
  }

  @Test func anUnknownValueIsRefusedWithAMessage() async {
    #if arch(x86_64)
    let result = await #expect(processExitsWith: .exitCode(64), observing: [\.standardErrorContent]) {
      setenv("RANKKERNELS_ISA", "sse2", 1)
      rankKernelsRequireCPUFeaturesForTesting()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("RANKKERNELS_ISA=sse2") && message.contains("avx2 or avx512"), "\(message)")
    #endif
  }

  /// Forcing AVX-512 on a CPU without it (simulated) stops at load time
  /// rather than dying on an illegal instruction later.
  @Test func avx512OnACPUWithoutItIsRefusedWithAMessage() async {
    #if arch(x86_64)
    let result = await #expect(processExitsWith: .exitCode(70), observing: [\.standardErrorContent]) {
      setenv("RANKKERNELS_ISA", "avx512", 1)
      setenv("RANKKERNELS_SIMULATE_NO_AVX512", "1", 1)
      rankKernelsRequireCPUFeaturesForTesting()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("RANKKERNELS_ISA=avx512") && message.contains("AVX-512F"), "\(message)")
    #endif
  }

  @Test func forcingAVX2IsHonoured() async {
    #if arch(x86_64)
    await #expect(processExitsWith: .success) {
      setenv("RANKKERNELS_ISA", "avx2", 1)
      rankKernelsRequireCPUFeaturesForTesting()
      exit(CPUFeatures.kernelInstructionSet == .avx2 ? 0 : 1)
    }
    #endif
  }
}

/// Runs `body` with the AVX2 kernels, then with the AVX-512 ones, and puts
/// back the instruction set that was selected.
private func onBothInstructionSets<Value>(_ body: () -> Value) -> (avx2: Value, avx512: Value) {
  let selected = CPUFeatures.kernelInstructionSet
  defer { CPUFeatures.useKernelInstructionSetForTesting(selected) }
  CPUFeatures.useKernelInstructionSetForTesting(.avx2)
  let avx2 = body()
  CPUFeatures.useKernelInstructionSetForTesting(.avx512)
  return (avx2, body())
}

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
