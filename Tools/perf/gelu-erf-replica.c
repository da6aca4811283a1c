// A C replica of RankKernels' erf-form GELU loop (Activations.swift, geluErf8:
// R = 2αN/(αD), a (4, 4) rational) beside the piecewise candidate of
// Tools/fits/gelu_erf_piecewise_fit.py (R by degree-7 polynomials on eight
// intervals, each coefficient one vpermps of an 8-entry table), timed by
// medians of interleaved calls in one process. It answers "what would the
// candidate cost on this core": the Swift SIMD types cannot emit vpermps.
// One thread; N(0, 1) inputs (the scalar tail for x <= -6 is left out: it
// runs once per 10^9 such elements).
//
// With a third argument "ablate" it asks instead "where do the rational's
// cycles go": beside it, the same values with power-of-two rescaled
// intermediates and no -u/2 multiply (one FMA-pipe operation fewer, the same
// bits), and that loop with its division made a multiply, with its integer
// operations left out, and with both (those three give wrong values: they
// only price what they leave out).
//
//   gcc -O3 -mavx2 -mfma -o /tmp/gelu-erf-replica Tools/perf/gelu-erf-replica.c -lm
//   /tmp/gelu-erf-replica 49152 3000; /tmp/gelu-erf-replica 12582912 15
//   /tmp/gelu-erf-replica 49152 3000 ablate
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Centres, then 2·c0 … 2·c7 per interval (gelu_erf_piecewise_fit.py 7).
static const float table[9][8] __attribute__((aligned(32))) = {
    {2.102800012e-01f, 7.650399804e-01f, 1.222399950e+00f, 1.776739955e+00f, 2.468499899e+00f, 3.498859882e+00f, 4.504660130e+00f, 5.480360031e+00f},  // centres
    {8.520809412e-01f, 5.952761769e-01f, 4.676911235e-01f, 3.665022552e-01f, 2.855636775e-01f, 2.127512842e-01f, 1.694454402e-01f, 1.411605626e-01f},  // 2*c0
    {-6.187089682e-01f, -3.424744904e-01f, -2.261789590e-01f, -1.467053592e-01f, -9.297065437e-02f, -5.349762738e-02f, -3.459044173e-02f, -2.427385561e-02f},  // 2*c1
    {3.609893918e-01f, 1.666347533e-01f, 9.560499340e-02f, 5.292249098e-02f, 2.803282812e-02f, 1.278529409e-02f, 6.813626736e-03f, 4.065548070e-03f},  // 2*c2
    {-1.809339374e-01f, -7.166367769e-02f, -3.643668070e-02f, -1.755876094e-02f, -7.923796773e-03f, -2.921232022e-03f, -1.299140044e-03f, -6.643888773e-04f},  // 2*c3
    {8.073567599e-02f, 2.795148455e-02f, 1.276565436e-02f, 5.431246944e-03f, 2.117815893e-03f, 6.410055794e-04f, 2.403764374e-04f, 1.061007788e-04f},  // 2*c4
    {-3.279840574e-02f, -1.006485801e-02f, -4.178813659e-03f, -1.577599323e-03f, -5.397506757e-04f, -1.356037392e-04f, -4.313394675e-05f, -1.663800140e-05f},  // 2*c5
    {1.237133984e-02f, 3.406963311e-03f, 1.291376771e-03f, 4.399373138e-04f, 1.342082105e-04f, 2.826346099e-05f, 7.652475688e-06f, 2.563994258e-06f},  // 2*c6
    {-4.008480348e-03f, -1.021218370e-03f, -2.791903098e-04f, -1.491438306e-04f, -2.923585635e-05f, -5.633638011e-06f, -1.572862175e-06f, -2.604357690e-07f},  // 2*c7
};

#define S(v) _mm256_set1_ps(v)
#define FMA _mm256_fmadd_ps

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// e^r − 1 and the rounding shift whose low bits hold n, for −u²/2 = n·ln 2 + r.
static inline __m256 exp_minus_one(__m256 u, __m256 minus_half_u, __m256 u2, __m256 *shifted) {
  __m256 sh = FMA(u2, S(-0.72134752f), S(12582912.f));
  __m256 n = _mm256_sub_ps(sh, S(12582912.f));
  __m256 r = FMA(minus_half_u, u, FMA(sh, S(-0.693359375f), S(12582912.f * 0.693359375f)));
  r = FMA(n, S(2.1219444e-4f), r);
  __m256 r2 = _mm256_mul_ps(r, r);
  __m256 p01 = FMA(r, S(0.16666518f), S(0.49999988f)), p23 = FMA(r, S(0.008368919f), S(0.041669533f));
  *shifted = sh;
  return FMA(FMA(FMA(r2, S(0.0013751409f), p23), r2, p01), r2, r);
}

// Q from e^r·R (or 2Q from e^r·2R) and the rounding shift: 2^n added to the exponent bits.
static inline __m256 times_two_to_n(__m256 scaled, __m256 shifted) {
  __m256i exponent = _mm256_slli_epi32(_mm256_castps_si256(shifted), 23);
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(scaled), exponent));
}

// The final FMA's addend: x for x >= 0 and for x < -6 (passed through for the scalar tail), 0 between.
static inline __m256 addend(__m256 x) {
  __m256i bits = _mm256_castps_si256(x);
  __m256i keep = _mm256_cmpgt_epi32(bits, _mm256_set1_epi32((int)0xC0C00000));  // above −6's pattern
  return _mm256_castsi256_ps(_mm256_and_si256(bits, keep));
}

// max(x, 0) − u·Q(u) from 2R, as the kernel's last four steps.
static inline __m256 finish(__m256 x, __m256 minus_half_u, __m256 em1, __m256 twice_r, __m256 shifted) {
  return FMA(minus_half_u, times_two_to_n(FMA(em1, twice_r, twice_r), shifted), addend(x));
}

// The rational's 2αN times `scale` (a power of two, so the same roundings) and αD.
static inline __m256 numerator(__m256 u, __m256 u2, const float scale) {
  return FMA(FMA(u2, S(4.217256e-6f * scale), FMA(u, S(0.036125716f * scale), S(0.29969436f * scale))), u2,
             FMA(u, S(1.003526f * scale), S(1.625f * scale)));
}

static inline __m256 denominator(__m256 u, __m256 u2) {
  return FMA(FMA(u2, S(0.045439504f), FMA(u, S(0.3733376f), S(1.322413f))), u2, FMA(u, S(2.3000872f), S(1.625f)));
}

static inline __m256 magnitude_clamped(__m256 x, int limit_bits) {
  __m256i m = _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff));
  return _mm256_castsi256_ps(_mm256_min_epi32(m, _mm256_set1_epi32(limit_bits)));
}

static __attribute__((noinline)) void rational(const float *in, int n, float *out) {
  for (int i = 0; i < n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i), u = magnitude_clamped(x, 0x40C00000);  // 6
    __m256 minus_half_u = _mm256_mul_ps(S(-0.5f), u), u2 = _mm256_mul_ps(u, u), shifted;
    __m256 em1 = exp_minus_one(u, minus_half_u, u2, &shifted);
    _mm256_storeu_ps(out + i, finish(x, minus_half_u, em1, _mm256_div_ps(numerator(u, u2, 1.f), denominator(u, u2)), shifted));
  }
}

// The rational's values with s = 2r, E2 = 2(e^r - 1) and Rh = R/2: every
// intermediate a power of two times the rational's, so the same roundings,
// and the final FMA takes u itself, so -u/2 is never formed. With
// `integer_ops` 0 the clamp, the addend's selection and 2^n are left out;
// with `division` 0 the quotient is a product.
static inline void lean_body(const float *in, int n, float *out, const int division, const int integer_ops) {
  for (int i = 0; i < n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i), u = integer_ops ? magnitude_clamped(x, 0x40C00000) : x;
    __m256 u2 = _mm256_mul_ps(u, u);
    __m256 sh = FMA(u2, S(-0.72134752f), S(12582912.f));
    __m256 nn = _mm256_sub_ps(sh, S(12582912.f));
    __m256 s = _mm256_fnmadd_ps(u, u, FMA(sh, S(-2 * 0.693359375f), S(2 * 12582912.f * 0.693359375f)));
    s = FMA(nn, S(2 * 2.1219444e-4f), s);
    __m256 s2 = _mm256_mul_ps(s, s);
    __m256 p01 = FMA(s, S(0.16666518f / 4), S(0.49999988f / 2)), p23 = FMA(s, S(0.008368919f / 16), S(0.041669533f / 8));
    __m256 e2 = FMA(FMA(FMA(s2, S(0.0013751409f / 32), p23), s2, p01), s2, s);
    __m256 num = numerator(u, u2, 0.25f), den = denominator(u, u2);
    __m256 rh = division ? _mm256_div_ps(num, den) : _mm256_mul_ps(num, den);
    __m256 scaled = FMA(e2, rh, _mm256_add_ps(rh, rh));
    __m256 y = integer_ops ? _mm256_fnmadd_ps(u, times_two_to_n(scaled, sh), addend(x)) : _mm256_fnmadd_ps(u, scaled, x);
    _mm256_storeu_ps(out + i, y);
  }
}

static __attribute__((noinline)) void lean(const float *in, int n, float *out) { lean_body(in, n, out, 1, 1); }
static __attribute__((noinline)) void lean_no_division(const float *in, int n, float *out) { lean_body(in, n, out, 0, 1); }
static __attribute__((noinline)) void lean_no_integer_ops(const float *in, int n, float *out) { lean_body(in, n, out, 1, 0); }
static __attribute__((noinline)) void lean_neither(const float *in, int n, float *out) { lean_body(in, n, out, 0, 0); }

static __attribute__((noinline)) void piecewise(const float *in, int n, float *out) {
  for (int i = 0; i < n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i), u = magnitude_clamped(x, 0x40BFFFFF);  // just below 6
    __m256i index = _mm256_srli_epi32(_mm256_castps_si256(_mm256_add_ps(u, S(2.f))), 21);
    __m256 h = _mm256_sub_ps(u, _mm256_permutevar8x32_ps(_mm256_load_ps(table[0]), index));
    __m256 p = _mm256_permutevar8x32_ps(_mm256_load_ps(table[8]), index);
    for (int k = 7; k >= 1; k--) p = FMA(p, h, _mm256_permutevar8x32_ps(_mm256_load_ps(table[k]), index));
    __m256 minus_half_u = _mm256_mul_ps(S(-0.5f), u), u2 = _mm256_mul_ps(u, u), shifted;
    __m256 em1 = exp_minus_one(u, minus_half_u, u2, &shifted);
    _mm256_storeu_ps(out + i, finish(x, minus_half_u, em1, p, shifted));
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef void (*loop)(const float *, int, float *);

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 49152, calls = argc > 2 ? atoi(argv[2]) : 3000;
  int ablate = argc > 3 && strcmp(argv[3], "ablate") == 0;
  if (n < 8 || n % 8 != 0 || calls < 1 || (argc > 3 && !ablate)) {
    fprintf(stderr, "gelu-erf-replica: usage: COUNT CALLS [ablate]; COUNT a positive multiple of 8, CALLS >= 1; got %s %s %s\n",
            argc > 1 ? argv[1] : "-", argc > 2 ? argv[2] : "-", argc > 3 ? argv[3] : "");
    return 64;
  }
  const char *names[] = {"rational", "piecewise", "lean", "lean, division a multiply", "lean, no integer operations", "lean, neither"};
  loop loops[] = {rational, piecewise, lean, lean_no_division, lean_no_integer_ops, lean_neither};
  int chosen[5], count = 0;
  chosen[count++] = 0;
  if (ablate) for (int k = 2; k < 6; k++) chosen[count++] = k;
  else chosen[count++] = 1;
  float *x = aligned_alloc(64, (size_t)n * 4), *y = aligned_alloc(64, (size_t)n * 4), *z = aligned_alloc(64, (size_t)n * 4);
  srand(3);
  for (int i = 0; i < n; i++) {  // Box–Muller
    double a = (rand() + 1.0) / ((double)RAND_MAX + 1), b = rand() / (double)RAND_MAX;
    x[i] = (float)(sqrt(-2 * log(a)) * cos(6.283185307179586 * b));
  }
  double *times = malloc((size_t)count * calls * sizeof(double));
  for (int c = 0; c < calls; c++)
    for (int k = 0; k < count; k++) {
      double t0 = now();
      loops[chosen[k]](x, n, k == 0 ? y : z);
      times[k * calls + c] = now() - t0;
    }
  printf("%d elements, medians of %d interleaved calls:\n", n, calls);
  double reference = 0;
  for (int k = 0; k < count; k++) {
    loops[chosen[k]](x, n, z);
    double largest = 0;
    for (int i = 0; i < n; i++) largest = fmax(largest, fabs(y[i] - z[i]) / fmax(fabs(y[i]), 1e-30));
    qsort(times + k * calls, calls, sizeof(double), compare);
    double median = times[k * calls + calls / 2];
    if (k == 0) reference = median;
    printf("  %-28s %8.1f us  %.2f G elements/s  speed vs rational %.3f  largest relative difference %.1e\n",
           names[chosen[k]], 1e6 * median, n / median * 1e-9, reference / median, largest);
  }
  return 0;
}
