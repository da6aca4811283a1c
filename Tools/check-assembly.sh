#!/usr/bin/env bash
# Checks the release build's hot loops for the code the kernels were written
# for: the GEMM micro-kernel must use ymm FMAs, the AVX-512 ones zmm FMAs (and
# nothing outside their module may touch zmm), and no kernel may call libm's
# scalar fmaf (what SIMD addProduct becomes without -mfma).
# Usage: Tools/check-assembly.sh [build-dir]   (after `swift build -c release`)
set -euo pipefail
build=${1:-.build/release}
if [ "$(uname -m)" != "x86_64" ]; then
  echo "check-assembly: not x86-64, nothing to check"; exit 0
fi
objects="$build/RankKernels.build"
kernel="$objects/GEMMMicroKernel.swift.o"
[ -f "$kernel" ] || { echo "check-assembly: $kernel not found; run swift build -c release first" >&2; exit 2; }
fma=$(objdump -d --no-show-raw-insn "$kernel" | grep -cE 'vfmadd[0-9]+ps[^,]*%ymm' || true)
lanes="$build/_RankKernelsLanes.build"
calls=$(objdump -dr "$objects"/*.o "$lanes"/*.o | grep -cE 'R_X86_64_(PLT32|PC32)[[:space:]]+fmaf?\b' || true)
# An out-of-line SIMD load means a hot loop outgrew the inliner's budget (it
# happened to the GEMM packing when the driver grew: 10-30 % slower).
outlined=$(objdump -dr "$objects"/*.o | grep -cE 'R_X86_64_(PLT32|PC32).*loadUnaligned' || true)
echo "check-assembly: $fma ymm FMA instructions in the GEMM micro-kernel; $calls fmaf calls, $outlined out-of-line loadUnaligned calls in RankKernels"
if [ "$fma" -lt 48 ]; then
  echo "check-assembly: FAIL: expected the 6x16 tile's 48 ymm FMAs per unrolled step" >&2; exit 1
fi
if [ "$calls" -ne 0 ]; then
  echo "check-assembly: FAIL: scalar fmaf calls found (built without -mfma?)" >&2; exit 1
fi
if [ "$outlined" -ne 0 ]; then
  echo "check-assembly: FAIL: SIMD loads compiled as calls (a kernel exceeded the inliner's budget)" >&2; exit 1
fi
# The AVX-512 micro-kernels: zmm FMAs in their module, and no zmm register
# anywhere in RankKernels' own objects (what runs on every CPU).
avx512="$build/_RankKernelsAVX512.build/AVX512MicroKernel.swift.o"
[ -f "$avx512" ] || { echo "check-assembly: $avx512 not found" >&2; exit 2; }
zmm_fma=$(objdump -d --no-show-raw-insn "$avx512" | grep -cE 'vfmadd[0-9]+ps.*%zmm' || true)
zmm_elsewhere=$(objdump -d --no-show-raw-insn "$objects"/*.o | grep -c '%zmm' || true)
# The 16-lane random fills: LLVM narrows their Box–Muller arithmetic to ymm
# halves unless each result passes the barrier of RankKernelsOpaque.h. A step's
# two Box–Muller calls have 28 FMAs each: 56 in zmm when whole; the narrowed
# code had 29 zmm and 164 ymm FMAs.
random="$build/_RankKernelsAVX512.build/AVX512Random.swift.o"
[ -f "$random" ] || { echo "check-assembly: $random not found" >&2; exit 2; }
random_fma=$(objdump -d --no-show-raw-insn "$random" | grep -cE 'vfmadd[0-9]+ps.*%zmm' || true)
# The Float64 Gram accumulation: sixteen zmm accumulators (4 × 4 products).
gram="$build/_RankKernelsAVX512.build/AVX512Gram.swift.o"
[ -f "$gram" ] || { echo "check-assembly: $gram not found" >&2; exit 2; }
gram_fma=$(objdump -d --no-show-raw-insn "$gram" | grep -cE 'vfmadd[0-9]+pd.*%zmm' || true)
# GELU's erf form at 16 lanes: 19 FMAs (fused negated ones included).
elementwise="$build/_RankKernelsAVX512.build/AVX512Elementwise.swift.o"
[ -f "$elementwise" ] || { echo "check-assembly: $elementwise not found" >&2; exit 2; }
gelu_fma=$(objdump -d --no-show-raw-insn "$elementwise" | grep -cE 'vf(n)?m(add|sub)[0-9]+ps.*%zmm' || true)
echo "check-assembly: $zmm_fma zmm FMA instructions in the AVX-512 micro-kernels, $random_fma in the random fills, $gram_fma in the Gram accumulation, $gelu_fma in GELU; $zmm_elsewhere zmm uses in RankKernels' own objects"
if [ "$gelu_fma" -lt 15 ]; then
  echo "check-assembly: FAIL: the 16-lane GELU is not in zmm registers (narrowed to ymm?)" >&2; exit 1
fi
if [ "$gram_fma" -lt 16 ]; then
  echo "check-assembly: FAIL: the AVX-512 Gram accumulation is not in zmm registers" >&2; exit 1
fi
if [ "$random_fma" -lt 50 ]; then
  echo "check-assembly: FAIL: the 16-lane random fills are not in zmm registers (narrowed to ymm?)" >&2; exit 1
fi
if [ "$zmm_fma" -lt 64 ]; then
  echo "check-assembly: FAIL: the AVX-512 micro-kernels have too few zmm FMAs (built without -mavx512f?)" >&2; exit 1
fi
if [ "$zmm_elsewhere" -ne 0 ]; then
  echo "check-assembly: FAIL: AVX-512 code outside _RankKernelsAVX512 would run on CPUs without it" >&2; exit 1
fi
echo "check-assembly: OK"
