#ifndef RANKKERNELS_CPU_H
#define RANKKERNELS_CPU_H

/// 1 when the CPU (and the OS, which must save ymm state) supports AVX2 and
/// FMA; always 1 on non-x86 hosts, where the kernels need neither.
int rankkernels_cpu_has_avx2_fma(void);

/// 1 when the CPU supports AVX-512F (reported by kernel-compare; no kernel
/// uses it yet).
int rankkernels_cpu_has_avx512f(void);

/// 1 when the kernel module of this build was compiled with AVX2 and FMA.
int rankkernels_built_with_avx2_fma(void);

/// Runs the load-time check again (it exits the process with status 70 and a
/// message when AVX2/FMA are required and missing). For tests.
void rankkernels_require_cpu_features(void);

/// Hints the hardware to fetch the cache line holding `address` into L2
/// (and L1). Inlined into Swift callers; a no-op where unsupported.
static inline void rankkernels_prefetch(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 0, 2);
#endif
}

/// As `rankkernels_prefetch`, for a line about to be written (prefetchw
/// where available: the line arrives writable, with no second request).
static inline void rankkernels_prefetch_for_write(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 1, 3);
#endif
}

#endif
