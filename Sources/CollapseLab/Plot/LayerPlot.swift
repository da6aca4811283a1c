import Foundation

/// Per-layer curves of a summary as a self-contained SVG: three panels
/// (mean residual ratio on a log axis, mean log₁₀ σ_min/σ_max, mean rank), one
/// line per variant, with a shared legend.
public func layerPlotSVG(_ summary: Summary) -> String {
  let c = summary.configuration
  let panels: [(title: String, metric: Metric, logarithmic: Bool)] = [
    ("residual ratio ‖X − 1·meanᵀ‖F / ‖X‖F (mean, log scale)", .residualRatio, true),
    ("log10 σmin/σmax (mean)", .log10SigmaRatio, false),
    ("numerical rank (mean)", .rank, false),
  ]
  let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
  let panelWidth = 360.0, panelHeight = 260.0, margin = 56.0, top = 60.0
  let width = Double(panels.count) * (panelWidth + margin) + margin
  let height = top + panelHeight + 110
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(margin)" y="24" font-size="15" font-weight="bold">mc-generic: \(summary.state.completedSamples) samples, L=\(c.layers), d=\(c.modelDimension), H=\(c.heads), n=\(c.sequenceLength), σ=\(c.weightScale), input \(c.input.rawValue)</text>

    """
  for (p, panel) in panels.enumerated() {
    let x0 = margin + Double(p) * (panelWidth + margin), y0 = top
    var series: [[Double]] = []
    for v in c.variants.indices {
      series.append((0...c.layers).map { layer in
        let m = summary.moments(variant: v, layer: layer, panel.metric)
        guard m.count > 0 else { return .nan }
        return panel.logarithmic ? log10(max(m.mean, 1e-300)) : m.mean
      })
    }
    let finite = series.flatMap { $0 }.filter { $0.isFinite }
    var low = finite.min() ?? 0, high = finite.max() ?? 1
    if panel.logarithmic { low = floor(low); high = max(ceil(high), low + 1) }
    if high - low < 1e-9 { low -= 0.5; high += 0.5 }
    let pad = panel.logarithmic ? 0 : (high - low) * 0.05
    low -= pad; high += pad
    func px(_ layer: Int) -> Double { x0 + Double(layer) / Double(max(1, c.layers)) * panelWidth }
    func py(_ value: Double) -> Double { y0 + panelHeight - (value - low) / (high - low) * panelHeight }
    svg += "<text x=\"\(x0)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
    svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
    for tick in 0...4 {
      let value = low + (high - low) * Double(tick) / 4
      let label = panel.logarithmic ? "1e\(Int(value.rounded()))" : String(format: "%.3g", value)
      svg += "<line x1=\"\(x0)\" x2=\"\(x0 + panelWidth)\" y1=\"\(py(value))\" y2=\"\(py(value))\" stroke=\"#e5e5e5\"/>\n"
      svg += "<text x=\"\(x0 - 6)\" y=\"\(py(value) + 4)\" text-anchor=\"end\">\(label)</text>\n"
    }
    let step = max(1, c.layers / 6)
    for layer in stride(from: 0, through: c.layers, by: step) {
      svg += "<text x=\"\(px(layer))\" y=\"\(y0 + panelHeight + 16)\" text-anchor=\"middle\">\(layer)</text>\n"
    }
    svg += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 + panelHeight + 34)\" text-anchor=\"middle\">layer</text>\n"
    for (v, values) in series.enumerated() {
      let points = values.enumerated().filter { $0.element.isFinite }.map { "\(px($0.offset)),\(py($0.element))" }
      let color = colors[v % colors.count]
      svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
      for point in points {
        let xy = point.split(separator: ",")
        svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
      }
    }
  }
  let legendY = top + panelHeight + 64
  for (v, variant) in c.variants.enumerated() {
    let x = margin + Double(v) * 190
    svg += "<line x1=\"\(x)\" x2=\"\(x + 24)\" y1=\"\(legendY)\" y2=\"\(legendY)\" stroke=\"\(colors[v % colors.count])\" stroke-width=\"3\"/>\n"
    svg += "<text x=\"\(x + 30)\" y=\"\(legendY + 4)\">\(escape(variant.description))</text>\n"
  }
  svg += "</svg>\n"
  return svg
}

private func escape(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

/// Writes `plot.svg` next to the summary.
public func writeLayerPlot(_ summary: Summary, to directory: URL) throws {
  try writeAtomically(Data(layerPlotSVG(summary).utf8), to: directory.appendingPathComponent("plot.svg"))
}

