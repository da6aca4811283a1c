import RankKernels
import Testing
import _AllocationCounter

/// The kernels' hot paths reuse per-thread scratch and allocate nothing after
/// warm-up (the README's contract, what lets mc-generic run millions of
/// samples without the allocator in its profile): each kernel is called
/// once to warm up, then counted on the calling thread, one thread, at the
/// shapes mc-generic uses (release builds).
@Suite("Kernels do not allocate after warm-up")
struct KernelAllocationTests {
  /// A kernel call on buffers allocated outside the counted region.
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let call: @Sendable () -> Void
    var testDescription: String { name }
  }

  /// Buffers that live for the whole test process (the counted calls must
  /// not allocate their operands).
  final class Buffers: @unchecked Sendable {
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>
    let gram: UnsafeMutablePointer<Double>, values: UnsafeMutablePointer<Double>, factor: UnsafeMutablePointer<Double>
    let order: UnsafeMutablePointer<Int>
    init(count: Int) {
      a = .allocate(capacity: count); b = .allocate(capacity: count); c = .allocate(capacity: count)
      gram = .allocate(capacity: 128 * 128); values = .allocate(capacity: 768); factor = .allocate(capacity: 128 * 128)
      order = .allocate(capacity: 128)
      RandomStream(seed: 7).fillNormal(a, count: count)
      RandomStream(seed: 8).fillNormal(b, count: count)
      for i in 0..<128 { for j in 0..<128 { gram[i * 128 + j] = Double(a[i * 768 + j] + a[j * 768 + i]) + (i == j ? 300 : 0) } }
    }
  }
  static let buffers = Buffers(count: 768 * 3072)

  /// Unoptimised builds box closure contexts on the heap (attention: one per
  /// tile), so the contract is a release-build property; CI runs this suite
  /// in release (.ci/run).
  #if DEBUG
  static let runs = false
  #else
  static let runs = allocation_counting_is_available()
  #endif

  static let cases: [Case] = {
    let x = buffers
    return [
      Case(name: "sgemm 16x768x768") { sgemm(m: 16, n: 768, k: 768, a: x.a, lda: 768, b: x.b, ldb: 768, c: x.c, ldc: 768, threads: 1) },
      Case(name: "sgemm 128x768x3072") { sgemm(m: 128, n: 3072, k: 768, a: x.a, lda: 768, b: x.b, ldb: 3072, c: x.c, ldc: 3072, threads: 1) },
      Case(name: "sgemm 16x16x16 Bᵀ") { sgemm(transB: .transpose, m: 16, n: 16, k: 16, a: x.a, lda: 16, b: x.b, ldb: 16, c: x.c, ldc: 16, threads: 1) },
      Case(name: "attention 12 heads, n = 128, d_k = 64") {
        multiHeadAttention(
          shape: AttentionShape(batch: 1, sequenceLength: 128, heads: 12, headDimension: 64),
          query: x.a, key: x.b, value: x.a + 128 * 768, output: x.c, rowEntropy: x.c + 128 * 768, threads: 1)
      },
      Case(name: "layerNorm 128x768") { layerNorm(rows: 128, columns: 768, input: x.a, gamma: nil, beta: nil, eps: 1e-12, output: x.c) },
      Case(name: "gelu 128x3072") { gelu(x.a, count: 128 * 3072, output: x.c) },
      Case(name: "gelu 128x3072, tanh form") { gelu(x.a, count: 128 * 3072, approximation: .tanh, output: x.c) },
      Case(name: "swiglu 128x3072") { swiglu(gate: x.a, up: x.b, count: 128 * 3072, output: x.c) },
      Case(name: "fillNormal 16x3072") { RandomStream(seed: 3, stream: 5).fillNormal(x.c, count: 16 * 3072) },
      Case(name: "symmetricEigenvalues 128") { symmetricEigenvalues(n: 128, a: x.gram, lda: 128, into: x.values) },
      Case(name: "singularValues 128x128") { singularValues(m: 128, n: 128, a: x.a, lda: 768, into: x.values) },
      Case(name: "singularValues 768x128") { singularValues(m: 768, n: 128, a: x.a, lda: 128, into: x.values) },
      Case(name: "pivotedCholesky 16, lower and order") {
        pivotedCholesky(n: 16, a: x.gram, lda: 128, lower: x.values, ldl: 16, order: x.order)
      },
      Case(name: "pivotedCholesky 128, factor") { pivotedCholesky(n: 128, a: x.gram, lda: 128, factor: x.factor, ldf: 128) },
      Case(name: "lowerTriangularProduct 16x768x16") {
        lowerTriangularProduct(m: 16, n: 768, k: 16, a: x.a, lda: 16, b: x.b, ldb: 768, c: x.c, ldc: 768, threads: 1)
      },
    ]
  }()

  @Test(.enabled(if: runs, "counted in release builds without a sanitizer (malloc interposed by _AllocationCounter)"), arguments: cases)
  func noAllocationAfterWarmUp(_ kernel: Case) {
    kernel.call()
    allocation_counting_begin()
    kernel.call()
    let count = allocation_counting_end()
    #expect(count == 0, "\(kernel.name): \(count) heap allocations after warm-up")
  }

  /// The counter itself: after a first round (which may instantiate type
  /// metadata), one Swift array is one allocation, and nothing is counted
  /// outside begin/end.
  @Test(.enabled(if: allocation_counting_is_available(), "malloc is not interposed in this build (sanitizer)"))
  func counterCountsOneArrayAsOne() {
    var counts: [UInt64] = []
    counts.reserveCapacity(2)
    for round in 0..<2 {
      allocation_counting_begin()
      let values = [Double](repeating: 1, count: 1000 + round)
      counts.append(allocation_counting_end())
      #expect(values.count == 1000 + round)
    }
    #expect(counts[1] == 1)
    allocation_counting_begin()
    #expect(allocation_counting_end() == 0)
  }
}
