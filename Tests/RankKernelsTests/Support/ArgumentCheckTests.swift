@_spi(Testing) import RankKernels
import Testing

/// Invalid arguments stop the process with a message naming the kernel, the
/// argument and the values (checked in a child process: exit tests).
@Suite("Bad input is reported clearly")
struct ArgumentCheckTests {
  private func expectMessage(_ result: ExitTest.Result?, mentions fragments: [String]) {
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    for fragment in fragments { #expect(message.contains(fragment), "stderr: \(message)") }
  }

  @Test func negativeSize() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = [Float](repeating: 0, count: 4)
      var c = x
      c.withUnsafeMutableBufferPointer { out in
        sgemm(m: -3, n: 2, k: 2, a: x, lda: 2, b: x, ldb: 2, c: out.baseAddress!, ldc: 2, threads: 1)
      }
    }
    expectMessage(result, mentions: ["RankKernels.sgemm", "m must be >= 0", "m = -3"])
  }

  @Test func leadingDimensionTooSmall() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = [Float](repeating: 0, count: 100)
      var c = x
      c.withUnsafeMutableBufferPointer { out in
        sgemm(m: 2, n: 2, k: 5, a: x, lda: 3, b: x, ldb: 2, c: out.baseAddress!, ldc: 2, threads: 1)
      }
    }
    expectMessage(result, mentions: ["lda (3)", "max(1, columns of A) = 5"])
  }

  @Test func wideMatrixForQR() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = [Float](repeating: 0, count: 100)
      var r = x
      r.withUnsafeMutableBufferPointer { out in
        householderQR(m: 3, n: 5, a: x, lda: 5, r: out.baseAddress!, ldr: 5)
      }
    }
    expectMessage(result, mentions: ["householderQR", "m = 3, n = 5"])
  }

  @Test func mismatchedArrayShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = singularValues(of: [1, 2, 3, 4, 5], rows: 2, columns: 3)
    }
    expectMessage(result, mentions: ["matrix.count (5)", "2·3 = 6"])
  }

  @Test func randomizedRankOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = [Float](repeating: 1, count: 16)
      _ = x.withUnsafeBufferPointer { randomizedSVD(m: 4, n: 4, a: $0.baseAddress!, lda: 4, rank: 9) }
    }
    expectMessage(result, mentions: ["rank must be in 1...min(m, n) = 4", "rank = 9"])
  }

  @Test func zeroHeadsInAttention() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = [Float](repeating: 0, count: 8)
      var o = x
      o.withUnsafeMutableBufferPointer { out in
        multiHeadAttention(
          shape: AttentionShape(batch: 1, sequenceLength: 2, heads: 0, headDimension: 4),
          query: x, key: x, value: x, output: out.baseAddress!)
      }
    }
    expectMessage(result, mentions: ["multiHeadAttention", "heads = 0"])
  }

  @Test func unknownBackendName() {
    #expect(throws: BackendError.unknownName("cuda")) { try Backends.named("cuda") }
    #expect(throws: Never.self) { try Backends.named("swift") }
  }

  @Test(.enabled(if: Backends.openBLAS != nil, "OpenBLAS libraries not installed"))
  func backendSwitchIsHonoured() async throws {
    // In a child process: the process-wide default would otherwise change
    // under the tests running in parallel with this one.
    await #expect(processExitsWith: .success) {
      guard let openBLAS = Backends.openBLAS else { exit(2) }
      let a = (0..<(60 * 45)).map { Float(sin(Double($0) * 0.37)) }
      let swift = singularValues(of: a, rows: 60, columns: 45, backend: Backends.swift)
      let lapack = singularValues(of: a, rows: 60, columns: 45, backend: openBLAS)
      Backends.current = openBLAS
      guard Backends.current.name == "openblas", singularValues(of: a, rows: 60, columns: 45) == lapack else { exit(3) }
      Backends.current = Backends.swift
      guard Backends.current.name == "swift", singularValues(of: a, rows: 60, columns: 45) == swift else { exit(4) }
      // The two computations differ in their last bits, so the default really switched.
      exit(swift != lapack ? 0 : 5)
    }
  }

  /// The load-time guard refuses, with a message, on a CPU without AVX2/FMA
  /// (simulated through the guard's test hook in a child process).
  @Test func cpuWithoutAVX2IsRefusedWithAMessage() async throws {
    #if arch(x86_64)
    let result = await #expect(processExitsWith: .exitCode(70), observing: [\.standardErrorContent]) {
      setenv("RANKKERNELS_SIMULATE_NO_AVX2", "1", 1)
      // Re-run the guard as it runs at load time.
      rankKernelsRequireCPUFeaturesForTesting()
    }
    expectMessage(result, mentions: ["AVX2 and FMA"])
    #endif
  }
}

#if canImport(Glibc)
import Glibc
#endif
