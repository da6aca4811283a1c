import Foundation

/// The aggregated results of a run (complete, or the completed blocks so far):
/// what `summary.json`, the terminal table and the plots are made from.
public struct Summary: Sendable {
  public var state: RunState
  /// Moments per (variant, layer, metric): the canonical tree root when every
  /// owned block is done, else the completed blocks folded in order.
  public var moments: MomentTable
  public var isComplete: Bool

  public init(state: RunState) {
    self.state = state
    let identity = state.identity
    let owned = state.shard.blocks(of: identity.totalBlocks)
    let covered = state.tree.coveredBlocks
    let coversAll = covered.reduce(0) { $0 + $1.count } == identity.totalBlocks
    if coversAll, let root = state.tree.root(totalBlocks: identity.totalBlocks, emptyTable: identity.emptyTable) {
      moments = root
      isComplete = true
    } else {
      moments = state.tree.interimTotal(emptyTable: identity.emptyTable)
      isComplete = covered.reduce(0) { $0 + $1.count } == owned.count && state.shard == .whole
    }
  }

  public var configuration: ModelConfiguration { state.identity.configuration }

  public func moments(variant: Int, layer: Int, _ metric: Metric) -> Moments {
    moments.entries[state.identity.entry(variant: variant, layer: layer, metric: metric.index)]
  }

  /// Samples whose rank (or affine rank) is the largest their token matrix
  /// allows — min(rows, d), or min(rows − 1, d) — and the samples counted;
  /// samples with non-finite activations count as not full rank.
  public func fullRankFraction(variant: Int, layer: Int, affine: Bool) -> (count: Int, of: Int) {
    let indicator: Metric = affine ? .affineFullRank : .fullRank
    let entry = state.identity.entry(variant: variant, layer: layer, metric: indicator.index)
    let histogram = state.tallies.counts[entry]
    return (histogram[2], histogram.reduce(0, +) + nonFiniteCount(variant: variant, layer: layer))  // bin 2 holds the value 1
  }

  /// Samples whose state at (variant, layer) had a non-finite entry.
  public func nonFiniteCount(variant: Int, layer: Int) -> Int {
    let entry = state.identity.entry(variant: variant, layer: layer, metric: Metric.nonFinite.index)
    return state.tallies.counts[entry][2]  // the bin of value 1
  }

  /// One line for the CLI when some state was non-finite: per variant the
  /// first affected layer and the counts by layer; nil when none was.
  public func nonFiniteWarning() -> String? {
    let c = configuration
    var parts: [String] = []
    for (v, variant) in c.variantLabels.enumerated() {
      let counts = (0...c.layers).map { nonFiniteCount(variant: v, layer: $0) }
      guard let first = counts.firstIndex(where: { $0 > 0 }) else { continue }
      let byLayer = counts.enumerated().filter { $0.element > 0 }.map { "L\($0.offset): \($0.element)" }.joined(separator: ", ")
      parts.append("\(variant) from layer \(first) (\(byLayer))")
    }
    if parts.isEmpty { return nil }
    return "warning: non-finite activations (Float32 overflow or NaN) in samples of \(parts.joined(separator: "; ")) of \(state.completedSamples); they count as not full rank and their other metrics are left out (nonfinite_count in summary.json)"
  }

  public func quantile(_ q: Double, variant: Int, layer: Int, _ metric: Metric) -> Double? {
    let m = metric.index
    let entry = state.identity.entry(variant: variant, layer: layer, metric: m)
    return state.tallies.quantile(q, entry: entry, spec: .forMetric(metric, configuration: configuration), moments: moments.entries[entry])
  }

  /// The `summary.json` document (schema `mc-generic/summary/v2`, see README).
  public func jsonObject() -> [String: Any] {
    let c = configuration
    let identity = state.identity
    var variants: [String: Any] = [:]
    for (v, variant) in c.variantLabels.enumerated() {
      var layers: [[String: Any]] = []
      for layer in 0...c.layers {
        var object: [String: Any] = ["layer": layer]
        let rank = fullRankFraction(variant: v, layer: layer, affine: false)
        let affine = fullRankFraction(variant: v, layer: layer, affine: true)
        object["full_rank_fraction"] = json(rank.of > 0 ? Double(rank.count) / Double(rank.of) : .nan)
        object["affine_full_rank_fraction"] = json(affine.of > 0 ? Double(affine.count) / Double(affine.of) : .nan)
        for metric in [Metric.rank, .affineRank] {
          let entry = identity.entry(variant: v, layer: layer, metric: metric.index)
          object["\(metric.rawValue)_histogram"] = Array(state.tallies.counts[entry].dropFirst().dropLast())
        }
        object["nonfinite_count"] = nonFiniteCount(variant: v, layer: layer)
        for metric in Metric.allCases where !metric.isIndicator {
          let m = moments(variant: v, layer: layer, metric)
          let name = metric.rawValue
          object["\(name)_count"] = m.count
          object["\(name)_mean"] = json(m.count > 0 ? m.mean : .nan)
          object["\(name)_std"] = json(m.standardDeviation)
          object["\(name)_min"] = json(m.count > 0 ? m.minimum : .nan)
          object["\(name)_max"] = json(m.count > 0 ? m.maximum : .nan)
          for (label, q) in [("p1", 0.01), ("p50", 0.5), ("p99", 0.99)] {
            object["\(name)_\(label)"] = json(quantile(q, variant: v, layer: layer, metric) ?? .nan)
          }
        }
        layers.append(object)
      }
      variants[variant] = ["layers": layers]
    }
    let configJSON = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(c))) ?? [:]
    return [
      "schema": "mc-generic/summary/v2",
      "config": [
        "model": configJSON, "seed": identity.seed, "samples": identity.samples, "engine": identity.engine.rawValue,
        "block_size": identity.blockSize, "shard": state.shard.description, "code_version": identity.codeVersion,
        "rank_tolerance": "factor * sigma_1 * max(n, d) * eps_f32, factor = \(c.rankToleranceFactor)",
        "quantiles": "from fixed histograms: 20 bins per decade (log metrics), 0.1 (log10_sigma_ratio), range/200 (attention_entropy, attention_spectral_gap, attention_sink_mass)",
        "unmodified_variant": c.measured != nil ? MeasuredStatesSource.variantLabel : c.unmodifiedVariant.map { $0.description as Any } ?? NSNull(),
      ],
      "completed_samples": state.completedSamples,
      "complete": isComplete,
      "elapsed_seconds": state.elapsedSeconds,
      "variants": variants,
    ]
  }

  /// Writes `summary.json` atomically (`prettyJSONText`, not
  /// `JSONSerialization`, whose sorted keys cost most of a checkpoint).
  public func write(to directory: URL) throws {
    try writeAtomically(Data(prettyJSONText(jsonObject()).utf8), to: directory.appendingPathComponent("summary.json"))
  }

  /// The end-of-run table: per variant, full-rank fraction at the last layer,
  /// the exact 95 % upper bound on P(not full rank), and mean residual ratios.
  public func table() -> String {
    let c = configuration
    var lines: [String] = []
    let model = c.checkpoint.map { source in
      "checkpoint \(source.name), \(source.textPath.map { "text \($0) (\(source.windowCount ?? 0) windows)" } ?? "random tokens"), perturb=\(source.perturbation)"
    } ?? "sigma=\(c.weightScale)"
    let architecture = c.architecture == .bertBase ? "" : "\(c.architecture.rawValue), "
    if let measured = c.measured {
      lines.append("mc-generic measure: \(measured.name), \(state.completedSamples) sequences from \(measured.files.count) file\(measured.files.count == 1 ? "" : "s"), states 0…\(c.layers), d=\(c.modelDimension), n=\(c.sequenceLength) (\(measured.rowSelection))\(isComplete ? "" : " (incomplete)")")
    } else {
      lines.append("mc-generic: \(architecture)\(state.completedSamples) samples, L=\(c.layers), d=\(c.modelDimension), H=\(c.heads), n=\(c.sequenceLength), \(model), engine=\(state.identity.engine)\(isComplete ? "" : " (incomplete)")")
    }
    let nameWidth = max(8, c.variantLabels.map(\.count).max() ?? 8)
    lines.append("variant".padded(nameWidth) + "  full rank @L\(c.layers)  95% UB P(not full)  affine full  residual ratio mean, layers 0…\(c.layers)")
    for (v, variant) in c.variantLabels.enumerated() {
      let full = fullRankFraction(variant: v, layer: c.layers, affine: false)
      let affine = fullRankFraction(variant: v, layer: c.layers, affine: true)
      let bound = clopperPearsonUpperBound(successes: full.of - full.count, trials: full.of)
      let ratios = (0...c.layers).map { formatCompact(moments(variant: v, layer: $0, .residualRatio).mean) }
      lines.append(
        variant.padded(nameWidth) + "  "
          + formatFixed(full.of > 0 ? Double(full.count) / Double(full.of) : .nan).padded(13) + "  "
          + formatCompact(bound).padded(18) + "  "
          + formatFixed(affine.of > 0 ? Double(affine.count) / Double(affine.of) : .nan).padded(11) + "  "
          + ratios.joined(separator: " "))
    }
    return lines.joined(separator: "\n")
  }
}

private func json(_ value: Double) -> Any { value.isFinite ? value : NSNull() }

func formatFixed(_ x: Double) -> String { x.isFinite ? String(format: "%.3f", x) : "-" }
func formatCompact(_ x: Double) -> String { x.isFinite ? String(format: "%.2g", x) : "-" }

extension String {
  func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
