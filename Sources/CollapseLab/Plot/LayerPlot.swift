import Foundation

/// One curve of a layer plot: a variant of a run's summary, with its legend label.
struct PlotSeries: Sendable {
  public var label: String
  public var summary: Summary
  public var variant: Int
  public init(label: String, summary: Summary, variant: Int) {
    self.label = label
    self.summary = summary
    self.variant = variant
  }
}

/// Per-layer curves of a summary as a self-contained SVG: three panels
/// (mean residual ratio on a log axis, mean log₁₀ σ_min/σ_max, mean rank), one
/// line per variant, with a shared legend.
func layerPlotSVG(_ summary: Summary) -> String {
  let c = summary.configuration
  let model = c.measured.map { "saved hidden states of \($0.name)" }
    ?? "H=\(c.heads), \(c.checkpoint.map { "checkpoint \($0.name)" } ?? "σ=\(c.weightScale)"), input \(c.input.rawValue)"
  let title = "mc-generic: \(summary.state.completedSamples) samples, L=\(c.layers), d=\(c.modelDimension), n=\(c.sequenceLength), \(model)"
  let series = c.variantLabels.enumerated().map { PlotSeries(label: $0.element, summary: summary, variant: $0.offset) }
  return layerPlotSVG(series, title: title)
}

/// Several runs' results overlaid (`mc-generic plot DIR…`): every variant of
/// each, labelled "name: variant" (or the name alone for a run of one
/// variant), on a layer axis as long as the deepest run's.
public func overlayPlotSVG(_ runs: [(name: String, summary: Summary)]) -> String {
  var series: [PlotSeries] = []
  for run in runs {
    let labels = run.summary.configuration.variantLabels
    for (v, label) in labels.enumerated() {
      series.append(PlotSeries(label: labels.count == 1 ? run.name : "\(run.name): \(label)", summary: run.summary, variant: v))
    }
  }
  let title = "mc-generic: " + runs.map { "\($0.name) (\($0.summary.state.completedSamples) samples, n=\($0.summary.configuration.sequenceLength))" }.joined(separator: " vs ")
  return layerPlotSVG(series, title: title)
}

/// The three panels for arbitrary curves (see `layerPlotSVG(_:)`).
func layerPlotSVG(_ curves: [PlotSeries], title: String) -> String {
  let layerCount = curves.map { $0.summary.configuration.layers }.max() ?? 1
  // Collapsed samples reach exact zeros (bitwise identical token rows); below
  // the floor nothing is resolvable in Float32, so values are clamped there.
  let panels: [(title: String, metric: Metric, logarithmic: Bool, floor: Double?)] = [
    ("residual ratio ‖X − 1·meanᵀ‖F / ‖X‖F (mean, log)", .residualRatio, true, -20),
    ("log10 σmin/σmax (mean)", .log10SigmaRatio, false, -20),
    ("numerical rank (mean)", .rank, false, nil),
  ]
  let dashes = ["", "7 4", "2 3", "10 3 2 3", "4 2", "1 4", "12 6", "5 2 1 2"]
  let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
  let panelWidth = 360.0, panelHeight = 260.0, margin = 56.0, top = 60.0
  let width = Double(panels.count) * (panelWidth + margin) + margin
  // Legend entries laid out left to right, wrapped to the figure's width;
  // each is as wide as its label (about 7 px a character at 12 px).
  var legendPositions: [(x: Double, row: Int)] = []
  var cursor = margin, row = 0
  for curve in curves {
    let entryWidth = max(190, 38 + 7 * Double(curve.label.count) + 24)
    if cursor > margin && cursor + entryWidth > width - margin {
      cursor = margin
      row += 1
    }
    legendPositions.append((cursor, row))
    cursor += entryWidth
  }
  let legendRows = Double(row + 1)
  let height = top + panelHeight + 108 + 18 * legendRows
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(margin)" y="24" font-size="15" font-weight="bold">\(escape(title))</text>

    """
  for (p, panel) in panels.enumerated() {
    let x0 = margin + Double(p) * (panelWidth + margin), y0 = top
    var series: [[Double]] = []
    for curve in curves {
      series.append((0...curve.summary.configuration.layers).map { layer in
        let m = curve.summary.moments(variant: curve.variant, layer: layer, panel.metric)
        guard m.count > 0 else { return .nan }
        let value = panel.logarithmic ? log10(max(m.mean, 1e-300)) : m.mean
        return panel.floor.map { max(value, $0) } ?? value
      })
    }
    let finite = series.flatMap { $0 }.filter { $0.isFinite }
    let (low, high, ticks) = niceAxis(low: finite.min() ?? 0, high: finite.max() ?? 1, includeZero: panel.metric == .rank)
    func px(_ layer: Int) -> Double { x0 + Double(layer) / Double(max(1, layerCount)) * panelWidth }
    func py(_ value: Double) -> Double { y0 + panelHeight - (value - low) / (high - low) * panelHeight }
    svg += "<text x=\"\(x0)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
    svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
    for value in ticks {
      let label = panel.logarithmic ? (value == 0 ? "1" : "1e\(Int(value.rounded()))") : String(format: "%g", value)
      svg += "<line x1=\"\(x0)\" x2=\"\(x0 + panelWidth)\" y1=\"\(py(value))\" y2=\"\(py(value))\" stroke=\"#e5e5e5\"/>\n"
      svg += "<text x=\"\(x0 - 6)\" y=\"\(py(value) + 4)\" text-anchor=\"end\">\(label)</text>\n"
    }
    let step = max(1, layerCount / 6)
    for layer in stride(from: 0, through: layerCount, by: step) {
      svg += "<text x=\"\(px(layer))\" y=\"\(y0 + panelHeight + 16)\" text-anchor=\"middle\">\(layer)</text>\n"
    }
    svg += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 + panelHeight + 34)\" text-anchor=\"middle\">layer</text>\n"
    // Spread bands: the 1 %–99 % quantiles shaded, and mean ± one standard
    // deviation dotted (panels without a floor: on the log axis, or where
    // exact zeros sit at −300, it is not a band).
    for (v, curve) in curves.enumerated() {
      let summary = curve.summary, layers = summary.configuration.layers
      let color = colors[v % colors.count]
      func transformed(_ value: Double?) -> Double? {
        guard let value, value.isFinite else { return nil }
        let y = panel.logarithmic ? log10(max(value, 1e-300)) : value
        return min(max(panel.floor.map { max(y, $0) } ?? y, low), high)
      }
      let quantiles = (0...layers).map { layer in
        (transformed(summary.quantile(0.01, variant: curve.variant, layer: layer, panel.metric)),
         transformed(summary.quantile(0.99, variant: curve.variant, layer: layer, panel.metric)))
      }
      if quantiles.allSatisfy({ $0.0 != nil && $0.1 != nil }) {
        let upper = quantiles.enumerated().map { "\(px($0.offset)),\(py($0.element.1!))" }
        let lower = quantiles.enumerated().reversed().map { "\(px($0.offset)),\(py($0.element.0!))" }
        svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.12\" stroke=\"none\"/>\n"
      }
      if !panel.logarithmic && panel.floor == nil {
        for sign in [-1.0, 1.0] {
          let points = (0...layers).compactMap { layer -> String? in
            let m = summary.moments(variant: curve.variant, layer: layer, panel.metric)
            guard m.count > 1, m.standardDeviation.isFinite, let y = transformed(m.mean + sign * m.standardDeviation) else { return nil }
            return "\(px(layer)),\(py(y))"
          }
          if points.count > 1 {
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1\" stroke-dasharray=\"1 3\" points=\"\(points.joined(separator: " "))\"/>\n"
          }
        }
      }
    }
    for (v, values) in series.enumerated() {
      let points = values.enumerated().filter { $0.element.isFinite }.map { "\(px($0.offset)),\(py($0.element))" }
      let color = colors[v % colors.count]
      svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-dasharray=\"\(dashes[v % dashes.count])\" points=\"\(points.joined(separator: " "))\"/>\n"
      for point in points {
        let xy = point.split(separator: ",")
        svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
      }
    }
  }
  let legendY = top + panelHeight + 64
  for (v, curve) in curves.enumerated() {
    let x = legendPositions[v].x
    let y = legendY + Double(legendPositions[v].row) * 18
    svg += "<line x1=\"\(x)\" x2=\"\(x + 30)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"\(colors[v % colors.count])\" stroke-width=\"3\" stroke-dasharray=\"\(dashes[v % dashes.count])\"/>\n"
    svg += "<text x=\"\(x + 38)\" y=\"\(y + 4)\">\(escape(curve.label))</text>\n"
  }
  let caption = [
    "Lines: means over samples. Shaded: 1 %–99 % quantiles (from the summary's fixed histograms). Dotted: mean ± one standard deviation (rank panel).",
    "Values below 1e-20 (residual ratio) or −20 (log10 ratio), including exact zeros of fully collapsed samples, are drawn at the axis floor.",
    "Coinciding curves are told apart by their dash patterns.",
  ]
  for (k, line) in caption.enumerated() {
    svg += "<text x=\"\(margin)\" y=\"\(legendY + 8 + 18 * legendRows + 16 * Double(k))\" fill=\"#555\">\(escape(line))</text>\n"
  }
  svg += "</svg>\n"
  return svg
}

/// An axis range with 1-2-5 tick steps covering [low, high].
func niceAxis(low: Double, high: Double, includeZero: Bool) -> (Double, Double, [Double]) {
  var low = includeZero ? min(low, 0) : low, high = high
  if high - low < 1e-9 { low -= 0.5; high += 0.5 }
  let rough = (high - low) / 5
  let magnitude = pow(10, floor(log10(rough)))
  let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
  let start = floor(low / step) * step, end = ceil(high / step) * step
  let ticks = stride(from: start, through: end + step / 2, by: step).map { $0 }
  return (start, end, ticks)
}

private func escape(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

/// Writes `plot.svg` next to the summary.
public func writeLayerPlot(_ summary: Summary, to directory: URL) throws {
  try writeAtomically(Data(layerPlotSVG(summary).utf8), to: directory.appendingPathComponent("plot.svg"))
}

