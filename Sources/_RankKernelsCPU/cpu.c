// Why this file exists: on x86-64 the RankKernels Swift module is compiled
// with -mavx2 -mfma, and Swift has no per-function target attribute yet, so
// any of its code may use AVX2. A CPU without AVX2 would die with SIGILL at
// the first kernel call. This C file is compiled without those flags and runs
// a check at load time (before main), printing a clear message instead.
//
// It also chooses, once, the instruction set of the kernels' hot loops: the
// AVX-512 micro-kernels live in their own module (_RankKernelsAVX512,
// compiled with -mavx512f) and run only when the selection below says so.

#include "RankKernelsCPU.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  // Test hook: the refusal of RANKKERNELS_ISA=avx512 on a CPU without it.
  const char *simulate = getenv("RANKKERNELS_SIMULATE_NO_AVX512");
  if (simulate != NULL && simulate[0] == '1') return 0;
  // __builtin_cpu_supports reports AVX-512F only when the OS also saves the
  // opmask and zmm state (XCR0 bits 5-7), so a "yes" means usable.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

int rankkernels_built_with_avx512(void) {
#if defined(RANKKERNELS_HAS_AVX512_MODULE)
  return 1;
#else
  return 0;
#endif
}

// RANKKERNELS_KERNEL_ISA_*; written before main and by the test hook only.
int rankkernels_kernel_isa_value = RANKKERNELS_KERNEL_ISA_PORTABLE;

void rankkernels_set_kernel_isa(int isa) {
  __atomic_store_n(&rankkernels_kernel_isa_value, isa, __ATOMIC_RELAXED);
}

/// The instruction set the kernels will use: RANKKERNELS_ISA when set (after
/// checking it), else AVX-512 where the build has the module and the CPU the
/// instructions, else AVX2. Exits with a one-line message on a bad value
/// (64, EX_USAGE) or a request the CPU cannot honour (70, EX_SOFTWARE).
static int rankkernels_choose_kernel_isa(void) {
#if defined(RANKKERNELS_REQUIRE_AVX2_FMA)
  const char *requested = getenv("RANKKERNELS_ISA");
  int avx512_usable = rankkernels_built_with_avx512() && rankkernels_cpu_has_avx512f();
  if (requested == NULL || requested[0] == '\0') {
    return avx512_usable ? RANKKERNELS_KERNEL_ISA_AVX512 : RANKKERNELS_KERNEL_ISA_AVX2;
  }
  if (strcmp(requested, "avx2") == 0) return RANKKERNELS_KERNEL_ISA_AVX2;
  if (strcmp(requested, "avx512") == 0) {
    if (avx512_usable) return RANKKERNELS_KERNEL_ISA_AVX512;
    fputs("RankKernels: RANKKERNELS_ISA=avx512, but this CPU (or OS) does not support AVX-512F; "
          "unset it or use RANKKERNELS_ISA=avx2.\n", stderr);
    exit(70);
  }
  fprintf(stderr, "RankKernels: RANKKERNELS_ISA=%s: expected avx2 or avx512.\n", requested);
  exit(64);
#else
  return RANKKERNELS_KERNEL_ISA_PORTABLE;
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
  rankkernels_set_kernel_isa(rankkernels_choose_kernel_isa());
}

__attribute__((constructor)) static void rankkernels_check_at_load(void) {
  rankkernels_require_cpu_features();
}
