"""Fits the polynomial of RankKernels' erf-form GELU (Activations.swift).

Q(u) = ½·erfc(u/√2) = exp(−u²/2)·t·P(t − 0.7) with t = 1/(1 + u/4), u in [0, 6]:
P is fitted to R(u)/t, R(u) = Q(u)·exp(u²/2), by least squares on Chebyshev
nodes in t, weighted by relative error and re-weighted towards the largest
errors (an approximation to minimax); coefficients are rounded to Float32
one at a time from the constant term, each time refitting the rest, so the
rounding error is absorbed by the remaining terms.

Usage: python3 Tools/fits/gelu_erf_fit.py   (prints Swift constants and the
largest relative error of P with the rounded coefficients, in Float64)
"""
import math

import numpy as np

DEGREE, A, U_MAX, NODES = 9, 0.25, 6.0, 6000
# P is a polynomial in s = t − CENTRE: centred coefficients alternate less,
# so Horner's rule in Float32 cancels less (the error near u = 0 was 6 ulp).
CENTRE = 0.7


def target(u):
    return 0.5 * math.erfc(u / math.sqrt(2)) * math.exp(u * u / 2)


def main():
    t_low = 1 / (1 + A * U_MAX)
    k = np.arange(NODES)
    t = (t_low + 1) / 2 + (1 - t_low) / 2 * np.cos(np.pi * (k + 0.5) / NODES)
    u = (1 / t - 1) / A
    y = np.array([target(v) for v in u]) / t
    vander = np.vander(t - CENTRE, DEGREE + 1, increasing=True)
    fixed = []
    for position in range(DEGREE + 1):
        free = vander[:, position:]
        rhs = y - (vander[:, :position] @ np.array(fixed) if fixed else 0)
        weights = 1 / y
        for _ in range(40):
            c, *_ = np.linalg.lstsq(free * weights[:, None], rhs * weights, rcond=None)
            err = np.abs((free @ c - rhs) / y)
            weights = weights * (1 + 20 * err / err.max())
        fixed.append(float(np.float32(c[0])))
    coefficients = np.array(fixed)
    error = np.abs((vander @ coefficients - y) / y).max()
    print(f"// max relative error of t·P(t − {CENTRE}) with Float32 coefficients: {error:.2e}")
    growth = (np.abs(vander) @ np.abs(coefficients) / np.abs(vander @ coefficients)).max()
    print(f"// Horner error growth max Σ|c_i s^i| / |P|: {growth:.2f}")
    for i, c in enumerate(coefficients):
        print(f"c{i}: {np.float32(c)!r}")


if __name__ == "__main__":
    main()
