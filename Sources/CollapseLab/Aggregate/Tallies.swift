#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fixed bins of one metric's histogram: `bins` equal steps of the value (or of
/// log₁₀ of the value when `logarithmic`) from `lower` to `upper`, plus an
/// underflow and an overflow bin. Counts are integers, so histograms merge
/// exactly in any order.
public struct HistogramSpec: Codable, Equatable, Sendable {
  public var lower: Double
  public var upper: Double
  public var bins: Int
  public var logarithmic: Bool

  /// The bin specification for `metric` under `configuration`. Logarithmic
  /// metrics use 20 bins per decade (quantiles resolved to ±6 %); linear ones
  /// 0.1 (log₁₀ ratio) or 1/200 of the range.
  public static func forMetric(_ metric: Metric, configuration: ModelConfiguration) -> HistogramSpec {
    switch metric {
    case .rank, .affineRank:
      let top = Double(min(configuration.sequenceLength, configuration.modelDimension))
      return HistogramSpec(lower: -0.5, upper: top + 0.5, bins: Int(top) + 1, logarithmic: false)
    case .residualRatio, .dongRatio, .sigmaMax, .stableRank, .effectiveRank:
      return HistogramSpec(lower: -40, upper: 10, bins: 1000, logarithmic: true)
    case .log10SigmaRatio:
      return HistogramSpec(lower: -40, upper: 0, bins: 400, logarithmic: false)
    case .nonFinite, .fullRank, .affineFullRank:
      return HistogramSpec(lower: -0.5, upper: 1.5, bins: 2, logarithmic: false)
    case .meanAbsCosine:
      return HistogramSpec(lower: 0, upper: 1 + 1e-9, bins: 200, logarithmic: false)
    case .attentionEntropy:
      return HistogramSpec(lower: 0, upper: log(Double(configuration.sequenceLength)) + 1e-9, bins: 200, logarithmic: false)
    case .attentionSpectralGap:
      // σ₁ of a row-stochastic n × n matrix is at most √n.
      return HistogramSpec(lower: 0, upper: Double(configuration.sequenceLength).squareRoot() + 1e-9, bins: 200, logarithmic: false)
    case .attentionSinkMass:
      return HistogramSpec(lower: 0, upper: 1 + 1e-9, bins: 200, logarithmic: false)
    }
  }

  /// Index in 0...bins+1 (0 underflow, bins+1 overflow), or nil for NaN.
  func slot(of value: Double) -> Int? {
    if value.isNaN { return nil }
    let x = logarithmic ? (value > 0 ? log10(value) : -.infinity) : value
    if x < lower { return 0 }
    if x >= upper { return bins + 1 }
    return 1 + min(bins - 1, Int((x - lower) / (upper - lower) * Double(bins)))
  }

  /// A representative value of slot `slot` (centre of the bin in its scale).
  func representative(of slot: Int) -> Double {
    let x = lower + (Double(slot - 1) + 0.5) * (upper - lower) / Double(bins)
    return logarithmic ? pow(10, x) : x
  }
}

/// Integer histograms of every (variant, layer, metric), flattened in that order.
public struct Tallies: Codable, Equatable, Sendable {
  public var counts: [[Int]]

  public init(specs: [HistogramSpec]) {
    counts = specs.map { [Int](repeating: 0, count: $0.bins + 2) }
  }

  private enum CodingKeys: String, CodingKey { case counts }

  /// The synthesised form, `{"counts":[[…],…]}`, written through the
  /// containers' `Int` overloads: the synthesised `[[Int]]` path went through
  /// the encoder's generic wrapping and a dynamic cast per count, ~0.1 s per
  /// checkpoint of the default run (~340,000 counts) with every worker idle.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    var histograms = container.nestedUnkeyedContainer(forKey: .counts)
    for histogram in counts {
      var slots = histograms.nestedUnkeyedContainer()
      for count in histogram { try slots.encode(count) }
    }
  }

  public mutating func add(_ value: Double, at entry: Int, spec: HistogramSpec) {
    if let slot = spec.slot(of: value) { counts[entry][slot] += 1 }
  }

  public mutating func absorb(_ other: Tallies) {
    for entry in counts.indices {
      for slot in counts[entry].indices { counts[entry][slot] += other.counts[entry][slot] }
    }
  }

  /// The q-quantile of entry `entry` read from its histogram; underflow and
  /// overflow bins report the exact minimum and maximum.
  public func quantile(_ q: Double, entry: Int, spec: HistogramSpec, moments: Moments) -> Double? {
    let histogram = counts[entry]
    let total = histogram.reduce(0, +)
    if total == 0 { return nil }
    let target = q * Double(total)
    var cumulative = 0
    for (slot, count) in histogram.enumerated() where count > 0 {
      cumulative += count
      if Double(cumulative) >= target {
        if slot == 0 { return moments.minimum }
        if slot == spec.bins + 1 { return moments.maximum }
        return min(max(spec.representative(of: slot), moments.minimum), moments.maximum)
      }
    }
    return moments.maximum
  }
}
