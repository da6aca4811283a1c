#ifndef RANKKERNELS_CPU_H
#define RANKKERNELS_CPU_H

/// 1 when the CPU (and the OS, which must save ymm state) supports AVX2 and
/// FMA; always 1 on non-x86 hosts, where the kernels need neither.
int rankkernels_cpu_has_avx2_fma(void);

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

/// Eight 32-bit lanes (Swift's SIMD8<Int32>).
typedef int rankkernels_int32x8 __attribute__((ext_vector_type(8)));

/// 1 when any lane of `v` has its sign bit set, in one movmskps where AVX
/// is on: Swift's `any(mask)` extracted the eight lanes one by one.
static inline int rankkernels_any_sign_bit8(rankkernels_int32x8 v) {
#if defined(__AVX__)
  typedef float rankkernels_float32x8 __attribute__((__vector_size__(32)));
  return __builtin_ia32_movmskps256((rankkernels_float32x8)v) != 0;
#else
  int any = 0;
  for (int i = 0; i < 8; i++) any |= v[i] < 0;
  return any;
#endif
}

#endif
