// Why this file exists: on x86-64 the RankKernels Swift module is compiled
// with -mavx2 -mfma, and Swift has no per-function target attribute yet, so
// any of its code may use AVX2. A CPU without AVX2 would die with SIGILL at
// the first kernel call. This C file is compiled without those flags and runs
// a check at load time (before main), printing a clear message instead.

#include "RankKernelsCPU.h"
#include <stdio.h>
#include <stdlib.h>

int rankkernels_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
  // Test hook: lets the test suite exercise the refusal path on AVX2 hardware.
  const char *simulate = getenv("RANKKERNELS_SIMULATE_NO_AVX2");
  if (simulate != NULL && simulate[0] == '1') return 0;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 1;
#endif
}

int rankkernels_cpu_has_avx512f(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

int rankkernels_built_with_avx2_fma(void) {
#if defined(RANKKERNELS_REQUIRE_AVX2_FMA)
  return 1;
#else
  return 0;
#endif
}

void rankkernels_require_cpu_features(void) {
#if defined(RANKKERNELS_REQUIRE_AVX2_FMA)
  if (!rankkernels_cpu_has_avx2_fma()) {
    fputs("RankKernels: this binary was built for x86-64 CPUs with AVX2 and FMA "
          "(Haswell, Zen or newer), and this CPU lacks them. Rebuild on a "
          "non-x86 host or use a CPU with AVX2+FMA.\n", stderr);
    exit(70);  // EX_SOFTWARE
  }
#endif
}

#if defined(RANKKERNELS_REQUIRE_AVX2_FMA)
__attribute__((constructor)) static void rankkernels_check_at_load(void) {
  rankkernels_require_cpu_features();
}
#endif
