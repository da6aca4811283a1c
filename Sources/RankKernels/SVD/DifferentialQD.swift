/// The singular values of an upper bidiagonal matrix (diagonal `d`, `count`
/// values; superdiagonal `e`, `count − 1` values), in descending order into
/// `values`, by the differential quotient-difference algorithm with shifts
/// (dqds; Fernando and Parlett 1994, as in LAPACK dlasq1/dlasq2).
///
/// dqds works on the squares qₖ = dₖ², eₖ = eₖ² and never subtracts two of
/// them, so every singular value comes out to high *relative* accuracy (a few
/// ulps of itself, however small, whatever the grading) at about 2·count²
/// divisions. Signs of `d` and `e` are irrelevant. Any NaN or infinite entry
/// gives NaN values. Returns `false`, with `values` undefined, in the
/// (never observed) event that the iteration does not converge within
/// 100·count transforms; callers then fall back to another method.
/// Single-threaded; uses `6·count` doubles of per-thread scratch.
public func bidiagonalSingularValues(
  count n: Int, diagonal d: UnsafePointer<Double>, superdiagonal e: UnsafePointer<Double>,
  into values: UnsafeMutablePointer<Double>
) -> Bool {
  bidiagonalSingularValues(count: n, diagonal: d, superdiagonal: e, into: values, transformsPerValue: 100)
}

/// As the public entry, with the iteration limit as a parameter: tests set
/// it to 0 to reach the callers' fallback paths.
internal func bidiagonalSingularValues(
  count n: Int, diagonal d: UnsafePointer<Double>, superdiagonal e: UnsafePointer<Double>,
  into values: UnsafeMutablePointer<Double>, transformsPerValue: Int
) -> Bool {
  requireNonNegative("bidiagonalSingularValues", "count", n)
  if n == 0 { return true }
  var largest = 0.0, finite = true
  for i in 0..<n {
    if !d[i].isFinite { finite = false }
    largest = max(largest, abs(d[i]))
  }
  for i in 0..<(n - 1) {
    if !e[i].isFinite { finite = false }
    largest = max(largest, abs(e[i]))
  }
  if !finite {
    values.update(repeating: .nan, count: n)
    return true
  }
  if largest == 0 {
    values.update(repeating: 0, count: n)
    return true
  }
  // A power-of-two scale puts the largest entry in [1, 2): exact, and the
  // squares neither overflow nor lose anything above 1e-300 of σ₁.
  let scale = Double(sign: .plus, exponent: -largest.exponent, significand: 1)
  let workspace = ScratchArena.current.buffer(.factorizationVectors, count: 6 * n, of: Double.self)
  let q = workspace, eSquared = workspace + n
  for i in 0..<n { q[i] = (d[i] * scale) * (d[i] * scale) }
  for i in 0..<(n - 1) { eSquared[i] = (e[i] * scale) * (e[i] * scale) }
  eSquared[n - 1] = 0
  var qd = QDArray(q: q, e: eSquared, spareQ: workspace + 2 * n, spareE: workspace + 3 * n)
  let starts = ScratchArena.current.buffer(.pendingBlockStarts, count: n, of: Int.self)
  let pending = PendingBlocks(start: starts, sigma: workspace + 4 * n, sigmaLow: workspace + 5 * n)
  let converged = qd.eigenvalues(count: n, transformLimit: transformsPerValue * n, pending: pending, into: values)
  guard converged else { return false }
  for i in 0..<n { values[i] = values[i].squareRoot() / scale }
  sortDescending(values, count: n)
  return true
}

/// What one dqds transform saw of its d values: the minimum over all of them,
/// over all but the last, over all but the last two, and the last three.
/// The shift strategy reads the bottom of the array from these.
private struct TransformSummary {
  var dmin = 0.0, dmin1 = 0.0, dmin2 = 0.0
  var dn = 0.0, dn1 = 0.0, dn2 = 0.0
}

/// Blocks split off above the one being reduced, each filed under its last
/// row: its first row and the shift it had accumulated when it split.
private struct PendingBlocks {
  let start: UnsafeMutablePointer<Int>
  let sigma: UnsafeMutablePointer<Double>, sigmaLow: UnsafeMutablePointer<Double>

  func file(lo: Int, hi: Int, sigma s: Double, sigmaLow low: Double) {
    start[hi] = lo
    sigma[hi] = s
    sigmaLow[hi] = low
  }

  func block(endingAt hi: Int) -> (lo: Int, sigma: Double, sigmaLow: Double) { (start[hi], sigma[hi], sigmaLow[hi]) }
}

/// A qd array (q₀ … q_{n−1}, e₀ … e_{n−2}, all ≥ 0) with a second pair of
/// buffers for the transforms: a transform writes the spare pair, which
/// becomes current only if it succeeded (all d ≥ 0), so a failed shift is
/// retried from unchanged data.
private struct QDArray {
  var q: UnsafeMutablePointer<Double>, e: UnsafeMutablePointer<Double>
  var spareQ: UnsafeMutablePointer<Double>, spareE: UnsafeMutablePointer<Double>

  static let tolerance = 100 * Double.ulpOfOne / 2
  static let tolerance2 = tolerance * tolerance

  /// The eigenvalues of BBᵀ (the squared singular values), each written at
  /// the index where it deflated. Blocks are reduced bottom first. When a
  /// block splits, the part above waits with the shift accumulated so far
  /// (it takes no further transforms until its turn), filed under its last
  /// index in `pending`; the waiting blocks are contiguous, each ending just
  /// above the next one's start.
  mutating func eigenvalues(
    count n: Int, transformLimit: Int, pending: PendingBlocks, into found: UnsafeMutablePointer<Double>
  ) -> Bool {
    var transformsLeft = transformLimit
    var hi = n - 1
    pending.file(lo: 0, hi: hi, sigma: 0, sigmaLow: 0)
    while hi >= 0 {
      // σ + σLow is the accumulated shift, summed with compensation: it is
      // added to every eigenvalue found, and the shifts can be many.
      var (lo, sigma, sigmaLow) = pending.block(endingAt: hi)
      var summary = TransformSummary()
      var deflated = Int.max  // no transform yet: start with a zero shift
      var growth = 0.25, lastWasBlind = false
      reverseIfGraded(lo, hi)
      while hi >= lo {
        // Deflate converged values at the bottom, one or two at a time.
        let before = hi
        while hi >= lo {
          if hi == lo || e[hi - 1] <= Self.tolerance2 * (sigma + q[hi]) {
            found[hi] = sigma + (q[hi] + sigmaLow)
            hi -= 1
          } else if hi == lo + 1 || e[hi - 2] <= Self.tolerance2 * sigma || e[hi - 2] <= Self.tolerance2 * q[hi - 1] {
            let (large, small) = eigenvaluesOf2x2(q[hi - 1], e[hi - 1], q[hi])
            found[hi] = sigma + (small + sigmaLow)
            found[hi - 1] = sigma + (large + sigmaLow)
            hi -= 2
          } else {
            break
          }
        }
        if hi < lo { break }
        if hi < before {
          deflated = deflated == Int.max ? Int.max : deflated + (before - hi)
          if reverseIfGraded(lo, hi) { deflated = Int.max }
        }
        // A split inside the block: reduce the part below it first.
        var split = hi - 1
        while split >= lo && !negligible(split, sigma: sigma) { split -= 1 }
        if split >= lo {
          e[split] = 0
          pending.file(lo: lo, hi: split, sigma: sigma, sigmaLow: sigmaLow)
          // The transforms below write only their own rows into the spare
          // buffers, which then become current: the waiting rows must read
          // the same in both.
          (spareQ + lo).update(from: q + lo, count: split + 1 - lo)
          (spareE + lo).update(from: e + lo, count: split + 1 - lo)
          lo = split + 1
          continue
        }
        var tau = shift(lo, hi, summary, deflated: deflated, growth: &growth, lastWasBlind: &lastWasBlind)
        var failures = 0
        while true {
          if transformsLeft == 0 { return false }
          transformsLeft -= 1
          let result = transform(lo, hi, shift: tau)
          if result.dmin >= 0 {
            summary = result
            break
          }
          if result.dmin < 0 && result.dmin1 > 0 && spareE[hi - 1] < Self.tolerance * (sigma + result.dn1)
            && abs(result.dn) < Self.tolerance * sigma
          {
            // The last value converged under a shift a rounding error too
            // large: its d came out a hair below zero. Take it as zero.
            spareQ[hi] = 0
            summary = result
            summary.dmin = 0
            break
          }
          failures += 1
          if result.dn.isNaN || failures > 2 {
            if tau == 0 { return false }
            tau = 0
          } else if result.dmin1 > 0 {
            // Only the last d went negative: the shift overshot λ_min by −dn.
            tau = (tau + result.dmin) * (1 - 2 * Double.ulpOfOne)
          } else {
            tau *= 0.25
          }
        }
        (q, spareQ) = (spareQ, q)
        (e, spareE) = (spareE, e)
        deflated = 0
        // Two-sum: σ + τ exactly as sigma + sigmaLow.
        let total = sigma + tau
        sigmaLow += tau - (total - sigma)
        sigma = total
      }
    }
    return true
  }

  /// Whether eₖ can be set to zero without changing any remaining
  /// eigenvalue σ + μ by more than tol² of itself: eₖ below tol² of σ (every
  /// remaining eigenvalue is at least σ) or of qₖ (the coupling is then
  /// tol·√(qₖ·q_{k+1}) against a pivot qₖ).
  @inline(__always)
  func negligible(_ k: Int, sigma: Double) -> Bool {
    e[k] <= Self.tolerance2 * sigma || e[k] <= Self.tolerance2 * q[k]
  }

  /// dqds converges at the bottom, fastest when the small values are there;
  /// a block whose top is much smaller than its bottom is reversed (the
  /// reversed bidiagonal has the same singular values).
  @discardableResult
  mutating func reverseIfGraded(_ lo: Int, _ hi: Int) -> Bool {
    guard hi > lo, 1.5 * q[lo] < q[hi] else { return false }
    var i = lo, j = hi
    while i < j {
      (q[i], q[j]) = (q[j], q[i])
      i += 1
      j -= 1
    }
    i = lo
    j = hi - 1
    while i < j {
      (e[i], e[j]) = (e[j], e[i])
      i += 1
      j -= 1
    }
    return true
  }

  /// One dqds transform with shift τ of rows lo…hi (at least three) into the
  /// spare buffers: B̂ᵀB̂ = BBᵀ − τI. The d values run down a chain of one
  /// division per row, which bounds the speed; the last two rows are
  /// unrolled to record what the shift strategy needs.
  @inline(__always)
  func transform(_ lo: Int, _ hi: Int, shift tau: Double) -> TransformSummary {
    var d = q[lo] - tau
    var dmin = d
    for k in lo..<(hi - 2) {
      let pivot = d + e[k]
      spareQ[k] = pivot
      let ratio = q[k + 1] / pivot
      spareE[k] = e[k] * ratio
      d = d * ratio - tau
      dmin = min(dmin, d)
    }
    var summary = TransformSummary()
    summary.dn2 = d
    summary.dmin2 = dmin
    for k in (hi - 2)..<hi {
      let pivot = d + e[k]
      spareQ[k] = pivot
      let ratio = q[k + 1] / pivot
      spareE[k] = e[k] * ratio
      d = d * ratio - tau
      if k == hi - 2 {
        summary.dn1 = d
        dmin = min(dmin, d)
        summary.dmin1 = dmin
      }
    }
    spareQ[hi] = d
    spareE[hi] = 0
    summary.dn = d
    summary.dmin = d.isNaN ? d : min(dmin, d)
    return summary
  }

  /// The next shift, a lower bound on the block's smallest eigenvalue μ
  /// (so that the transform keeps every d ≥ 0) as close to it as the
  /// bottom of the array allows: LAPACK dlasq4's main cases, simplified.
  ///
  /// - When the last transform's smallest d was its last and the one before
  ///   the second last, the bottom 2 × 2 is nearly decoupled: μ is d_n less
  ///   a second-order correction b₁²/gap (dlasq4's cases 2 and 3).
  /// - After one deflation, the new bottom's d with a bound on the rest of
  ///   the row's contribution (cases 7 and 8).
  /// - Otherwise a fraction of dmin, growing while nothing better turns up
  ///   (case 6), and zero after more than two deflations (no information).
  func shift(
    _ lo: Int, _ hi: Int, _ s: TransformSummary, deflated: Int, growth: inout Double, lastWasBlind: inout Bool
  ) -> Double {
    let wasBlind = lastWasBlind
    lastWasBlind = false
    switch deflated {
    case 0:
      if s.dmin <= 0 { return 0 }
      if s.dmin == s.dn && s.dmin1 == s.dn1 {
        let b1 = q[hi].squareRoot() * e[hi - 1].squareRoot()
        let b2 = q[hi - 1].squareRoot() * e[hi - 2].squareRoot()
        let a2 = q[hi - 1] + e[hi - 1]
        let gap2 = s.dmin2 - a2 - 0.25 * s.dmin2
        let gap1 = gap2 > 0 && gap2 > b2 ? a2 - s.dn - (b2 / gap2) * b2 : a2 - s.dn - (b1 + b2)
        if gap1 > 0 && gap1 > b1 { return max(s.dn - (b1 / gap1) * b1, 0.5 * s.dmin) }
        var t = s.dn > b1 ? s.dn - b1 : 0
        if a2 > b1 + b2 { t = min(t, a2 - (b1 + b2)) }
        return max(t, s.dmin / 3)
      }
      growth = wasBlind ? growth + (1 - growth) / 3 : 0.25
      lastWasBlind = true
      return growth * s.dmin
    case 1:
      guard s.dmin1 == s.dn1 && s.dmin2 == s.dn2 else { return (s.dmin1 == s.dn1 ? 0.5 : 0.25) * s.dmin1 }
      let fallback = s.dmin1 / 3
      if e[hi - 1] > q[hi - 1] { return fallback }
      // b: the rows above's contribution to the squared norm, a geometric
      // series of eₖ/qₖ products summed until it stops growing.
      var term = e[hi - 1] / q[hi - 1], sum = term
      var k = hi - 2
      while k >= lo && term != 0 {
        let previous = term
        if e[k] > q[k] { return fallback }
        term *= e[k] / q[k]
        sum += term
        if 100 * max(term, previous) < sum { break }
        k -= 1
      }
      let b = (1.05 * sum).squareRoot()
      let a = s.dmin1 / (1 + b * b)
      let gap = 0.5 * s.dmin2 - a
      if gap > 0 && gap > b * a { return max(fallback, a * (1 - 1.01 * a * (b / gap) * b)) }
      return max(fallback, a * (1 - 1.01 * b))
    case 2:
      return 0.25 * s.dmin2
    default:
      return 0
    }
  }
}

/// The eigenvalues of the trailing 2 × 2 qd block {q₁, e₁, q₂} (trace
/// q₁ + e₁ + q₂, determinant q₁·q₂), larger first, without cancellation:
/// the discriminant is a sum of non-negative terms.
@inline(__always)
private func eigenvaluesOf2x2(_ q1: Double, _ e1: Double, _ q2: Double) -> (Double, Double) {
  let half = 0.5 * (q1 + e1 - q2)
  let large = 0.5 * (q1 + e1 + q2) + (half * half + q2 * e1).squareRoot()
  return (large, large > 0 ? (q1 / large) * q2 : 0)
}
