"""Fits the rational function of RankKernels' erf-form GELU (Activations.swift).

GELU(x) = max(x, 0) − |x|·Q(|x|), Q(u) = ½·erfc(u/√2) = exp(−u²/2)·R(u), and
R(u) ≈ N(u)/D(u) with N of degree 4, D of degree 4 and D(0) = 1, on u in
[0, 6]. The fit minimises the relative error by linearised least squares
(N − R·D = 0 weighted by 1/(R·D), re-weighted towards the largest errors: an
approximation to minimax); the coefficients are then rounded to Float32 one
at a time, numerator first, each time refitting the rest, so that the
rounding error is absorbed by the remaining ones. With these constants every
coefficient is positive, so for u ≥ 0 neither polynomial cancels.

Usage: python3 Tools/fits/gelu_erf_fit.py   (needs numpy and mpmath; prints
the Swift constants and the largest relative error of N/D with them, in
Float64)
"""
import mpmath
import numpy as np

NUMERATOR_DEGREE, DENOMINATOR_DEGREE, U_MAX, NODES = 4, 4, 6.0, 4000
# The kernel evaluates αN/(αD)·2: scaling both polynomials by α = 1.625 puts
# their values near u = 0 (where Q ≈ ½ and the result's ulp is finest
# relative to Q) high in their binades, where a rounding is relatively
# smallest; the extra 2 gives 2Q, so the final FMA takes −u/2, exact. The
# coefficients are rounded to Float32 after scaling.
ALPHA = 1.625
NUMERATOR_SCALE, DENOMINATOR_SCALE = 2 * ALPHA, ALPHA
mpmath.mp.dps = 40


def target(u):
    u = mpmath.mpf(u)
    return float(mpmath.erfc(u / mpmath.sqrt(2)) / 2 * mpmath.exp(u * u / 2))


def fit(u, y, fixed_numerator, fixed_denominator):
    vn = np.vander(u, NUMERATOR_DEGREE + 1, increasing=True)
    vd = np.vander(u, DENOMINATOR_DEGREE + 1, increasing=True)
    weights = 1 / y
    for iteration in range(60):
        columns, rhs = [], y.copy()
        for i in range(NUMERATOR_DEGREE + 1):
            if i in fixed_numerator:
                rhs -= fixed_numerator[i] * vn[:, i]
            else:
                columns.append(vn[:, i])
        for j in range(1, DENOMINATOR_DEGREE + 1):
            if j in fixed_denominator:
                rhs += fixed_denominator[j] * y * vd[:, j]
            else:
                columns.append(-y * vd[:, j])
        solution, *_ = np.linalg.lstsq(np.array(columns).T * weights[:, None], rhs * weights, rcond=None)
        free = iter(solution)
        n = np.array([fixed_numerator[i] if i in fixed_numerator else next(free) for i in range(NUMERATOR_DEGREE + 1)])
        d = np.array([1.0] + [fixed_denominator[j] if j in fixed_denominator else next(free) for j in range(1, DENOMINATOR_DEGREE + 1)])
        scale = 1 / (y * np.abs(vd @ d))  # turns the linearised residual into the relative error
        error = np.abs((vn @ n) * scale * np.sign(vd @ d) - 1)
        # Geometric mean of the previous weights and the error-boosted new ones.
        weights = scale if iteration == 0 else np.sqrt(weights * scale * (1 + 30 * error / error.max()))
    return n, d, error.max()


def main():
    k = np.arange(NODES)
    u = np.concatenate([U_MAX / 2 + U_MAX / 2 * np.cos(np.pi * (k + 0.5) / NODES), np.linspace(0, U_MAX, 2001)])
    y = np.array([target(v) for v in u])
    fixed_numerator, fixed_denominator = {}, {}
    for kind, i in [("n", i) for i in range(NUMERATOR_DEGREE + 1)] + [("d", j) for j in range(1, DENOMINATOR_DEGREE + 1)]:
        n, d, _ = fit(u, y, fixed_numerator, fixed_denominator)
        if kind == "n":
            fixed_numerator[i] = float(np.float32(NUMERATOR_SCALE * n[i])) / NUMERATOR_SCALE
        else:
            fixed_denominator[i] = float(np.float32(DENOMINATOR_SCALE * d[i])) / DENOMINATOR_SCALE
    n, d, error = fit(u, y, fixed_numerator, fixed_denominator)
    print(f"// max relative error of N/D with Float32 coefficients on [0, {U_MAX}]: {error:.2e}")
    print(f"numerator × {NUMERATOR_SCALE} (constant term first):", ", ".join(repr(np.float32(NUMERATOR_SCALE * c)) for c in n))
    print(f"denominator × {DENOMINATOR_SCALE} (constant term first):", ", ".join(repr(np.float32(DENOMINATOR_SCALE * c)) for c in d))


if __name__ == "__main__":
    main()
