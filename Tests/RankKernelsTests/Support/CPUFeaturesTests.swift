import RankKernels
import Testing

@Suite("What the CPU and the build support")
struct CPUFeaturesTests {
  /// The description benchmarks print: the model from /proc/cpuinfo on Linux,
  /// and ISA flags consistent with each other and with the build.
  @Test func summaryNamesTheCPUAndTheISA() {
    #if os(Linux) && arch(x86_64)
    let model = CPUFeatures.cpuModel
    #expect(model != nil && model!.contains("family"), "\(model ?? "nil")")
    #expect(CPUFeatures.builtWithAVX2FMA)
    #endif
    // AVX-512F implies AVX2 and FMA on every CPU that has it.
    #expect(!CPUFeatures.cpuHasAVX512F || CPUFeatures.cpuHasAVX2FMA)
    #expect(CPUFeatures.summary.contains(CPUFeatures.builtWithAVX2FMA ? "kernels built for AVX2+FMA" : "kernels built for the baseline ISA"))
    #expect(CPUFeatures.summary.contains(CPUFeatures.cpuHasAVX512F ? "AVX-512F," : "no AVX-512F"))
  }
}
