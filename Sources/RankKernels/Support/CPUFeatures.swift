import _RankKernelsCPU

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the running CPU and this build support.
public enum CPUFeatures {
  /// True when the kernels were compiled with AVX2 and FMA (x86-64 builds).
  public static var builtWithAVX2FMA: Bool { rankkernels_built_with_avx2_fma() != 0 }
  /// True when the CPU supports AVX2 and FMA (always true off x86).
  public static var cpuHasAVX2FMA: Bool { rankkernels_cpu_has_avx2_fma() != 0 }
  /// True when the CPU (and the OS) support AVX-512F.
  public static var cpuHasAVX512F: Bool { rankkernels_cpu_has_avx512f() != 0 }
  /// True when this build has the AVX-512 micro-kernels (every x86-64 build).
  public static var builtWithAVX512: Bool { rankkernels_built_with_avx512() != 0 }

  /// The instruction set the Swift kernels' dispatched hot loops (the GEMM
  /// and attention micro-tiles, ``RandomStream``'s fills) run with, chosen
  /// once before `main`:
  /// `RANKKERNELS_ISA` (`avx2` or `avx512`) when set, else ``KernelInstructionSet/avx512``
  /// where the CPU has AVX-512F, else ``KernelInstructionSet/avx2``.
  ///
  /// Results are bit-identical whichever runs: each element of a product is
  /// the same chain of fused multiply-adds in the same order, each random
  /// number the same operations on the same bits. A bad value of
  /// `RANKKERNELS_ISA`, or `avx512` on a CPU without it, stops the process
  /// at load time with a one-line message (exit status 64 or 70).
  public static var kernelInstructionSet: KernelInstructionSet {
    switch rankkernels_kernel_isa() {
    case RANKKERNELS_KERNEL_ISA_AVX512: .avx512
    case RANKKERNELS_KERNEL_ISA_AVX2: .avx2
    default: .portable
    }
  }

  /// Whether the AVX-512 kernels run: the one test of the dispatch that
  /// the products, the random fills and the probes make (a relaxed load of
  /// the choice made before `main`).
  @inline(__always)
  static var runsAVX512Kernels: Bool { rankkernels_kernel_isa() == RANKKERNELS_KERNEL_ISA_AVX512 }

  /// Switches the kernels' instruction set, for tests that run both paths
  /// and compare them. Safe while other threads run kernels (their results
  /// do not depend on the path), but a test that needs a given path must not
  /// run beside another that switches. `@_spi(Testing) import RankKernels`.
  /// - Precondition: the CPU supports `instructionSet`.
  @_spi(Testing) public static func useKernelInstructionSetForTesting(_ instructionSet: KernelInstructionSet) {
    switch instructionSet {
    case .avx512:
      precondition(builtWithAVX512 && cpuHasAVX512F, "AVX-512 kernels need a CPU with AVX-512F")
      rankkernels_set_kernel_isa(RANKKERNELS_KERNEL_ISA_AVX512)
    case .avx2:
      precondition(builtWithAVX2FMA && cpuHasAVX2FMA, "AVX2 kernels need an x86-64 build and CPU")
      rankkernels_set_kernel_isa(RANKKERNELS_KERNEL_ISA_AVX2)
    case .portable:
      precondition(!builtWithAVX2FMA, "x86-64 builds have no portable path")
      rankkernels_set_kernel_isa(RANKKERNELS_KERNEL_ISA_PORTABLE)
    }
  }

  /// The CPU's model name, family and model as Linux reports them in
  /// /proc/cpuinfo ("AMD EPYC (family 25, model 1)"), or nil where it is not readable.
  public static var cpuModel: String? {
    // POSIX reads: the kernel module does not import Foundation.
    guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 16 {
      let count = fread(&chunk, 1, chunk.count, file)
      if count <= 0 { break }
      bytes += chunk[0..<count]
    }
    var fields: [String: String] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
      if line.isEmpty { break }  // the first processor's block only
      let parts = line.split(separator: ":", maxSplits: 1).map { String($0).trimmedOfSpacesAndTabs }
      if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
    }
    guard let name = fields["model name"] else { return nil }
    if let family = fields["cpu family"], let model = fields["model"] { return "\(name) (family \(family), model \(model))" }
    return name
  }

  /// One line for benchmark headers: CPU, the vector ISA it has, the one the
  /// kernels were built for and the one their micro-tiles run with.
  public static var summary: String {
    let isa = cpuHasAVX512F ? "AVX-512F, AVX2+FMA" : cpuHasAVX2FMA ? "AVX2+FMA, no AVX-512F" : "no AVX2+FMA"
    let built = builtWithAVX2FMA ? (builtWithAVX512 ? "AVX2+FMA and AVX-512F" : "AVX2+FMA") : "the baseline ISA"
    return "\(cpuModel ?? "unknown CPU"); \(isa); kernels built for \(built); micro-tiles run \(kernelInstructionSet.name)"
  }
}

/// The vector instruction set of the Swift kernels' dispatched hot loops
/// (``CPUFeatures/kernelInstructionSet``).
public enum KernelInstructionSet: String, Sendable, Hashable, CaseIterable {
  /// Builds for other architectures (arm64: NEON), whatever LLVM makes of the
  /// portable SIMD code.
  case portable
  /// x86-64 with AVX2 and FMA: 8-float ymm vectors (the kernels' baseline).
  case avx2
  /// x86-64 with AVX-512F: the GEMM micro-tiles and the random fills in
  /// 16-float zmm vectors.
  case avx512

  /// As `RANKKERNELS_ISA` spells it, or "portable".
  public var name: String { rawValue }
}

/// Re-runs the load-time CPU check; exits with status 70 and a message when the
/// build needs AVX2/FMA and the CPU lacks them. A test hook:
/// `@_spi(Testing) import RankKernels`.
@_spi(Testing) public func rankKernelsRequireCPUFeaturesForTesting() {
  rankkernels_require_cpu_features()
}

extension String {
  fileprivate var trimmedOfSpacesAndTabs: String {
    var view = Substring(self)
    while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
    while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
    return String(view)
  }
}
