"""A more accurate candidate for the erf-form GELU: R(u) by piecewise polynomials
instead of the (4, 4) rational of gelu_erf_fit.py (1.8 ulp on the test's sweep,
2.5 on a dense one, against 3.9 and 4.1). Not used by the kernel: the table
lookups cost speed (PERF.md, issue 16 in session 12).

Same formula as Activations.swift, GELU(x) = max(x, 0) − |x|·Q(|x|),
Q(u) = e^(−u²/2)·R(u), with the same exponential; only R changes. On each of
eight intervals of u in [0, 6) R is a degree-7 polynomial in h = u − c_j:

* The interval comes from the bits of u + 2 shifted right by 21. The low
  three bits of that are what an AVX2 `vpermps` uses as the lane index, so
  every coefficient is one permute of an 8-entry table. The intervals are
  [0, ½), [½, 1), [1, 1½), [1½, 2), [2, 3), [3, 4), [4, 5) and [5, 6); u is
  clamped just below 6 so that u + 2 stays under 8.
* Each centre c_j is the Float32 near the interval's middle where R(c_j) is
  closest to a Float32. The constant term, which dominates Horner's last
  step, is then almost exact.
* The coefficients are rounded to Float32 one at a time, constant term first,
  and the rest refitted each time. The fit weights the relative error.

Why it is more accurate: the rational's numerator, denominator and quotient
each round on their own, up to ~3 units of 2⁻²⁴ in R; Horner's form with a
dominant constant term rounds about once.

The script also emulates the kernel step by step in Float32 (numpy's float32
arithmetic rounds correctly; an FMA is formed in Float64 and rounded once,
exact except for rare double roundings). It checks both forms against a
Float64 reference over every k-th Float32 bit pattern with |x| ≤ 6 (k = 4093,
the sweep of the Swift test, by default). The emulation of the present kernel
gives its measured worst case, 3.875 ulp at x = −3.2536. In the candidate, x
at or below −6 takes the scalar Float64 tail (u is clamped just below 6).

Usage: python3 Tools/fits/gelu_erf_piecewise_fit.py [degree [k]]   (numpy,
scipy, mpmath; degree 7 by default; prints the tables and both kernels' worst
errors; k = 37 is PERF.md's dense sweep, about a minute)
"""
import sys

import mpmath
import numpy as np
from scipy.special import erfc

mpmath.mp.dps = 30
F = np.float32
EDGES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0]


def mills(u):
    """R(u) = Q(u)·e^(u²/2), Q(u) = ½·erfc(u/√2), to 30 digits."""
    u = mpmath.mpf(u)
    return mpmath.erfc(u / mpmath.sqrt(2)) / 2 * mpmath.exp(u * u / 2)


def centre(a, b):
    """The Float32 near (a + b)/2 at which R is closest to a Float32."""
    middle = float(F((a + b) / 2))
    best, best_error = middle, 1.0
    for step in range(-2000, 2001):
        c = float(F(middle + step * 2e-5))
        r = mills(c)
        error = abs(float((mpmath.mpf(float(F(float(r)))) - r) / r))
        if error < best_error:
            best, best_error = c, error
    return best


def fit_interval(a, b, degree, nodes=600):
    c = centre(a, b)
    t = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    h = (a - c) + (b - a) * (t + 1) / 2
    y = np.array([float(mills(c + v)) for v in h])
    powers = np.vander(h, degree + 1, increasing=True)
    fixed = {0: float(F(float(mills(c))))}
    while len(fixed) <= degree:
        free = [i for i in range(degree + 1) if i not in fixed]
        rhs = y - sum(fixed[i] * powers[:, i] for i in fixed)
        weights = 1 / y
        for _ in range(30):  # re-weighted least squares towards minimax
            solution, *_ = np.linalg.lstsq(powers[:, free] * weights[:, None], rhs * weights, rcond=None)
            error = np.abs((powers[:, free] @ solution - rhs) / y)
            weights = weights * (1 + 10 * error / error.max())
        fixed[free[0]] = float(F(solution[0]))
    coefficients = np.array([fixed[i] for i in range(degree + 1)])
    return c, coefficients, np.abs(powers @ coefficients / y - 1).max()


def fma(a, b, c):
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(F)


def exponential_and_finish(x, u, twice_r):
    """The kernel's e^(−u²/2) and final FMA (Activations.swift, geluErf8)."""
    minus_half_u, u2 = F(-0.5) * u, u * u
    shifted = fma(u2, F(-0.72134752), F(12582912))
    n = shifted - F(12582912)
    r = fma(minus_half_u, u, fma(shifted, F(-0.693359375), F(12582912 * 0.693359375)))
    r = fma(n, F(2.1219444e-4), r)
    r2 = r * r
    p01 = fma(r, F(0.16666518), F(0.49999988))
    p23 = fma(r, F(0.008368919), F(0.041669533))
    exp_minus_one = fma(fma(fma(r2, F(0.0013751409), p23), r2, p01), r2, r)
    scaled = fma(exp_minus_one, twice_r, twice_r)
    twice_q = (scaled.view(np.int32) + (shifted.view(np.int32) << 23)).view(F)
    return fma(minus_half_u, twice_q, np.where(x >= 0, x, F(0)))


def rational_kernel(x):
    """The kernel as it is: 2αN/(αD), both in Estrin's form."""
    u = np.minimum(np.abs(x), F(6))
    u2 = u * u
    numerator = fma(fma(u2, F(4.217256e-6), fma(u, F(0.036125716), F(0.29969436))), u2, fma(u, F(1.003526), F(1.625)))
    denominator = fma(fma(u2, F(0.045439504), fma(u, F(0.3733376), F(1.322413))), u2, fma(u, F(2.3000872), F(1.625)))
    return exponential_and_finish(x, u, numerator / denominator)


def piecewise_kernel(x, centres, twice_coefficients):
    u = np.minimum(np.abs(x), np.nextafter(F(6), F(0)))
    index = ((u + F(2)).view(np.int32) >> 21) & 7
    h = u - centres[index]
    p = twice_coefficients[index, -1]
    for k in range(twice_coefficients.shape[1] - 2, -1, -1):
        p = fma(p, h, twice_coefficients[index, k])
    return np.where(x <= -6, reference_gelu(x).astype(F), exponential_and_finish(x, u, p))


def reference_gelu(x):
    wide = x.astype(np.float64)
    return wide * 0.5 * erfc(-wide / np.sqrt(2))


def ulp_errors(x, y):
    reference = reference_gelu(x)
    return np.abs(y.astype(np.float64) - reference) / np.spacing(np.abs(reference).astype(F)).astype(np.float64)


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    fits = [fit_interval(a, b, degree) for a, b in zip(EDGES[:-1], EDGES[1:])]
    centres = np.array([c for c, _, _ in fits], dtype=F)
    # Tables hold 2R's coefficients (the kernel's final FMA takes −u/2): exact.
    twice = np.array([2 * k for _, k, _ in fits], dtype=F)
    print("centres:", ", ".join("%.9g" % v for v in centres))
    for k in range(degree + 1):
        print("2·c%d:" % k, ", ".join("%.9g" % v for v in twice[:, k]))
    print("largest relative error of R with Float32 coefficients: %.2e" % max(e for _, _, e in fits))
    step = int(sys.argv[2]) if len(sys.argv) > 2 else 4093
    kernels = {"rational (now)": rational_kernel, "piecewise": lambda v: piecewise_kernel(v, centres, twice)}
    worst = {name: (0.0, 0.0) for name in kernels}
    within, total = {name: 0 for name in kernels}, 0
    chunk = step * 2_000_000  # bit patterns per slice, to bound the memory
    for start in range(0, 2**32, chunk):
        x = np.arange(start, min(start + chunk, 2**32), step, dtype=np.uint64).astype(np.uint32).view(F)
        x = x[np.isfinite(x) & (np.abs(x) <= 6) & (np.abs(x) > 1e-30)]
        total += x.size
        for name, kernel in kernels.items():
            if x.size == 0:
                continue
            e = ulp_errors(x, kernel(x))
            if e.max() > worst[name][0]:
                worst[name] = (e.max(), x[e.argmax()])
            within[name] += int((e <= 2).sum())
    print("every %dth bit pattern with |x| <= 6: %d values" % (step, total))
    for name in kernels:
        print("%-15s worst %.3f ulp at x = %.8g; within 2 ulp %.5f %%"
              % (name, worst[name][0], worst[name][1], 100 * within[name] / total))


if __name__ == "__main__":
    main()
