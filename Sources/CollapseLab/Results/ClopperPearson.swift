import Foundation

/// Exact (Clopper–Pearson) one-sided upper confidence bound for a binomial
/// probability after `successes` in `trials`: the p at which
/// P(X ≤ successes | trials, p) = 1 − confidence.
public func clopperPearsonUpperBound(successes: Int, trials: Int, confidence: Double = 0.95) -> Double {
  precondition(trials >= 0 && successes >= 0 && successes <= trials)
  if trials == 0 || successes == trials { return 1 }
  let alpha = 1 - confidence
  if successes == 0 { return 1 - pow(alpha, 1 / Double(trials)) }
  // P(X ≤ x) = I_{1−p}(n − x, x + 1) decreases in p: bisect.
  var low = 0.0, high = 1.0
  for _ in 0..<200 {
    let mid = (low + high) / 2
    let cdf = regularizedIncompleteBeta(a: Double(trials - successes), b: Double(successes + 1), x: 1 - mid)
    if cdf > alpha { low = mid } else { high = mid }
    if high - low < 1e-15 { break }
  }
  return high
}

/// I_x(a, b), by the continued fraction of Numerical Recipes §6.4 (modified Lentz).
func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
  if x <= 0 { return 0 }
  if x >= 1 { return 1 }
  let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
  let logPowers: Double = a * log(x) + b * log(1 - x)
  let logFront = logGammas + logPowers
  if x < (a + 1) / (a + b + 2) {
    return exp(logFront) * betaContinuedFraction(a: a, b: b, x: x) / a
  }
  return 1 - exp(logFront) * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
}

private func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
  let tiny = 1e-300
  var c = 1.0, d = 1 - (a + b) * x / (a + 1)
  if abs(d) < tiny { d = tiny }
  d = 1 / d
  var h = d
  for m in 1...10_000 {
    let m = Double(m)
    var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
    d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
    c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
    d = 1 / d
    h *= d * c
    numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
    d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
    c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
    d = 1 / d
    let delta = d * c
    h *= delta
    if abs(delta - 1) < 1e-15 { break }
  }
  return h
}

/// Two-sided exact (Clopper–Pearson) confidence interval for a binomial
/// probability: each side at (1 + confidence)/2, so the interval covers p with
/// probability at least `confidence`.
func clopperPearson(successes: Int, trials: Int, confidence: Double = 0.95) -> (lower: Double, upper: Double) {
  let oneSided = (1 + confidence) / 2
  let upper = clopperPearsonUpperBound(successes: successes, trials: trials, confidence: oneSided)
  let lower = 1 - clopperPearsonUpperBound(successes: trials - successes, trials: trials, confidence: oneSided)
  return (lower, upper)
}
