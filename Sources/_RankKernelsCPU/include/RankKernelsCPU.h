#ifndef RANKKERNELS_CPU_H
#define RANKKERNELS_CPU_H

/// 1 when the CPU (and the OS, which must save ymm state) supports AVX2 and
/// FMA; always 1 on non-x86 hosts, where the kernels need neither.
int rankkernels_cpu_has_avx2_fma(void);

/// 1 when the CPU and the OS support AVX-512F (and AVX2 and FMA).
int rankkernels_cpu_has_avx512f(void);

/// 1 when the kernel module of this build was compiled with AVX2 and FMA.
int rankkernels_built_with_avx2_fma(void);

/// 1 when this build has the AVX-512 micro-kernels (x86-64 builds).
int rankkernels_built_with_avx512(void);

/// Values of `rankkernels_kernel_isa()`.
#define RANKKERNELS_KERNEL_ISA_PORTABLE 0
#define RANKKERNELS_KERNEL_ISA_AVX2 1
#define RANKKERNELS_KERNEL_ISA_AVX512 2

/// Set once before main (RANKKERNELS_ISA, else the best the CPU supports);
/// read through `rankkernels_kernel_isa()`.
extern int rankkernels_kernel_isa_value;

/// The instruction set the kernels' dispatched hot loops run with: one of
/// RANKKERNELS_KERNEL_ISA_*. A relaxed load, cheap enough per micro-tile.
static inline int rankkernels_kernel_isa(void) {
  return __atomic_load_n(&rankkernels_kernel_isa_value, __ATOMIC_RELAXED);
}

/// Changes the selection (tests only: they run both paths and compare). The
/// caller checks that the CPU supports what it selects.
void rankkernels_set_kernel_isa(int isa);

/// Runs the load-time checks again (it exits the process with status 70 and a
/// message when AVX2/FMA are required and missing, and with 64 or 70 when
/// RANKKERNELS_ISA is invalid or asks for what the CPU lacks), and chooses the
/// kernels' instruction set again. For tests.
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
