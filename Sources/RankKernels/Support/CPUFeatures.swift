import _RankKernelsCPU

/// What the running CPU and this build support.
public enum CPUFeatures {
  /// True when the kernels were compiled with AVX2 and FMA (x86-64 builds).
  public static var builtWithAVX2FMA: Bool { rankkernels_built_with_avx2_fma() != 0 }
  /// True when the CPU supports AVX2 and FMA (always true off x86).
  public static var cpuHasAVX2FMA: Bool { rankkernels_cpu_has_avx2_fma() != 0 }
}

/// Re-runs the load-time CPU check; exits with status 70 and a message when the
/// build needs AVX2/FMA and the CPU lacks them. Exposed for the test suite.
public func rankKernelsRequireCPUFeaturesForTesting() {
  rankkernels_require_cpu_features()
}
