#ifndef RANKKERNELS_OPAQUE_H
#define RANKKERNELS_OPAQUE_H

#ifdef __AVX512F__
/// Imported into Swift as SIMD16<Float>.
typedef float rankkernels_float16 __attribute__((__vector_size__(64)));

/// `x` unchanged, through an empty inline-assembly statement that claims to
/// read and write it in one zmm register: an optimisation barrier, no
/// instruction. LLVM must then compute all 16 lanes of `x` as one vector. Without
/// it, when a 16-lane result is stored as two 8-lane halves in different
/// places (the random streams' group layout), LLVM splits the whole
/// computation feeding it into ymm halves, half of it twice over, with spills:
/// the AVX-512 normal fill ran at 0.49 G/s instead of 0.77 (Intel Xeon).
/// Only declared where the including code is compiled with AVX-512F.
static inline __attribute__((always_inline)) rankkernels_float16 rankkernels_opaque16(rankkernels_float16 x) {
  __asm__("" : "+v"(x));
  return x;
}
#endif

#endif
