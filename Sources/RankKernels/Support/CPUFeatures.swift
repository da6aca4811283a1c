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
  /// True when the CPU supports AVX-512F. No kernel uses it yet: the
  /// figures of PERF.md differ between such CPUs (where OpenBLAS switches to
  /// its AVX-512 kernels) and AVX2 ones, so benchmarks report it.
  public static var cpuHasAVX512F: Bool { rankkernels_cpu_has_avx512f() != 0 }

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

  /// One line for benchmark headers: CPU, the vector ISA it has and the one
  /// the kernels were built for.
  public static var summary: String {
    let isa = cpuHasAVX512F ? "AVX-512F, AVX2+FMA" : cpuHasAVX2FMA ? "AVX2+FMA, no AVX-512F" : "no AVX2+FMA"
    return "\(cpuModel ?? "unknown CPU"); \(isa); kernels built for \(builtWithAVX2FMA ? "AVX2+FMA" : "the baseline ISA")"
  }
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
