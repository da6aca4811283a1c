"""Groups `perf report --sort symbol` lines (read on stdin) into phases.

Each symbol's self time goes to the first phase whose pattern occurs in its
(mangled) name; the rest is "other" (allocation, reference counting, I/O).
"""
import re
import sys

PHASES = [
    ("random numbers (Philox, Box-Muller, Bartlett/gamma)", ["RandomStream", "bartlettFactors", "sampleGamma", "ieee754_log", "fillNormalGroups", "fillUniformGroups", "RandomLanes", "AVX5120C6Random"]),
    ("products (SGEMM)", ["GEMMMicroKernel", "MicroKernel", "SGEMM", "packA", "packB", "scaleMatrix", "TriangularProduct"]),
    # GramState: the Gram engine's factor bookkeeping (residual sums, norms, coordinates);
    # haarFrame: the QR of its per-sample frame.
    ("factors (Gram matrix, pivoted Cholesky, QR)", ["gramMatrix", "AVX5120C4Gram", "pivotedCholesky", "householder", "lqLowerFactor", "GramState", "haarFrame"]),
    ("attention (softmax, entropy)", ["multiHeadAttention", "attentionBlock", "attentionTask", "softmax", "exponentiate", "probabilityWeighted"]),
    ("rank metrics (eigenvalues, centring, SVD)", ["tridiagonal", "symmetricEigenvalue", "rootFree", "sturmCount", "affineRank", "CentringStatistics", "measure", "meanAbsoluteCosine", "Jacobi", "singularValues", "randomizedRank"]),
    ("LayerNorm, GELU, biases", ["layerNorm", "LayerNorm", "gelu", "addBias", "addInPlace", "erfc8"]),
]

totals = {name: 0.0 for name, _ in PHASES}
other = 0.0
for line in sys.stdin:
    match = re.match(r"\s*([0-9.]+)%\s+(?:\S+\s+)?\[[.k]\]\s+(\S+)", line)
    if not match:
        continue
    share, symbol = float(match.group(1)), match.group(2)
    for name, patterns in PHASES:
        if any(p in symbol for p in patterns):
            totals[name] += share
            break
    else:
        other += share
width = max(len(name) for name, _ in PHASES)
for name, _ in PHASES:
    print(f"{name:<{width}}  {totals[name]:5.1f} %")
print(f"{'other (allocation, ARC, copies, I/O)':<{width}}  {other:5.1f} %")
