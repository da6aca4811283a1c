// A C replica of RankKernels' fused LayerNorm loop (LayerNorm.swift: one loop
// writes row i and sums row i + 1's deviations from its shift), timed against
// a streaming copy of the same bytes in one process, by medians of
// interleaved calls. It answers "what does this loop structure allow on this
// machine, compiled by gcc", the yardstick PERF.md compares the Swift kernel
// with. One thread; 768 columns; gamma = 1.1, beta = 0.1, as kernel-compare.
//
//   gcc -O3 -mavx2 -mfma -o /tmp/layernorm-replica Tools/perf/layernorm-replica.c -lm
//   /tmp/layernorm-replica [rows] [k]
//
// Prints copy/replica for the single-pass loop and for the loop that takes a
// second, corrected pass over a row whenever δ² > k·variance (δ: the row's
// mean minus its shift, the mean of its first eight values), and the speed
// of the second against the first. k defaults to 1 (the kernel since 0.3.3;
// it was 0.25 before).
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { columns = 768 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float horizontal_sum(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}

static float head_mean(const float *x) {
  float sum = 0;
  for (int j = 0; j < 8; j++) sum += x[j];
  return sum / 8;
}

// Σd and Σd² of d = x − shift over one row.
static void deviation_sums(const float *x, float shift, float *sum, float *squares) {
  __m256 s = _mm256_setzero_ps(), q = s, shiftv = _mm256_set1_ps(shift);
  for (int j = 0; j < columns; j += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), shiftv);
    s = _mm256_add_ps(s, d);
    q = _mm256_fmadd_ps(d, d, q);
  }
  *sum = horizontal_sum(s);
  *squares = horizontal_sum(q);
}

// k < 0: never take the second pass.
static __attribute__((noinline)) void layer_norm(
    int rows, const float *in, const float *gamma, const float *beta, float *out, double k) {
  float shift = head_mean(in), sum, squares;
  deviation_sums(in, shift, &sum, &squares);
  for (int r = 0; r < rows; r++) {
    const float *x = in + (size_t)r * columns;
    const float *next = r + 1 < rows ? x + columns : x;
    double delta = sum / (double)columns, variance = squares / (double)columns - delta * delta;
    if (k >= 0 && delta * delta > k * variance) {
      shift += (float)delta;
      deviation_sums(x, shift, &sum, &squares);
      delta = sum / (double)columns;
      variance = squares / (double)columns - delta * delta;
    }
    __m256 shiftv = _mm256_set1_ps(shift), deltav = _mm256_set1_ps((float)delta);
    __m256 scalev = _mm256_set1_ps((float)(1 / sqrt(fmax(variance, 0) + 1e-12)));
    float next_shift = head_mean(next);
    __m256 next_shiftv = _mm256_set1_ps(next_shift);
    __m256 s[4], q[4];
    for (int i = 0; i < 4; i++) s[i] = q[i] = _mm256_setzero_ps();
    float *y = out + (size_t)r * columns;
    for (int j = 0; j < columns; j += 32) {
      for (int i = 0; i < 4; i++) {
        int c = j + 8 * i;
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(next + c), next_shiftv);
        s[i] = _mm256_add_ps(s[i], d);
        q[i] = _mm256_fmadd_ps(d, d, q[i]);
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), shiftv), deltav), scalev);
        _mm256_storeu_ps(y + c, _mm256_fmadd_ps(v, _mm256_loadu_ps(gamma + c), _mm256_loadu_ps(beta + c)));
      }
    }
    sum = horizontal_sum(_mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3])));
    squares = horizontal_sum(_mm256_add_ps(_mm256_add_ps(q[0], q[1]), _mm256_add_ps(q[2], q[3])));
    shift = next_shift;
  }
}

static __attribute__((noinline)) void copy(const float *in, float *out, size_t count) {
  for (size_t j = 0; j < count; j += 8) _mm256_storeu_ps(out + j, _mm256_loadu_ps(in + j));
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int rows = argc > 1 ? atoi(argv[1]) : 4096;
  double k = argc > 2 ? atof(argv[2]) : 1;
  if (rows < 1) { fprintf(stderr, "layernorm-replica: rows must be >= 1, got %d\n", rows); return 64; }
  size_t count = (size_t)rows * columns;
  // malloc's large blocks sit 16 bytes past a page, as Swift's allocations in kernel-compare.
  float *x = malloc(count * 4), *y = malloc(count * 4), *gamma = malloc(columns * 4), *beta = malloc(columns * 4);
  srand(11);
  for (size_t i = 0; i < count; i++) { x[i] = 2 * (float)rand() / RAND_MAX - 1; y[i] = 0; }
  for (int j = 0; j < columns; j++) { gamma[j] = 1.1f; beta[j] = 0.1f; }
  int calls = rows > 1000 ? 200 : 20000;
  double *single = malloc(calls * sizeof(double)), *corrected = malloc(calls * sizeof(double)),
         *copies = malloc(calls * sizeof(double));
  for (int c = 0; c < calls; c++) {
    double t0 = now();
    layer_norm(rows, x, gamma, beta, y, -1);
    double t1 = now();
    layer_norm(rows, x, gamma, beta, y, k);
    double t2 = now();
    copy(x, y, count);
    double t3 = now();
    single[c] = t1 - t0; corrected[c] = t2 - t1; copies[c] = t3 - t2;
  }
  qsort(single, calls, sizeof(double), compare);
  qsort(corrected, calls, sizeof(double), compare);
  qsort(copies, calls, sizeof(double), compare);
  double a = single[calls / 2], b = corrected[calls / 2], c = copies[calls / 2];
  printf("%dx%d medians: single pass %.1f us, second pass at k = %g %.1f us, copy %.1f us; "
         "copy/single %.3f, copy/corrected %.3f, corrected/single speed %.3f\n",
         rows, columns, 1e6 * a, k, 1e6 * b, 1e6 * c, c / a, c / b, a / b);
  return 0;
}
