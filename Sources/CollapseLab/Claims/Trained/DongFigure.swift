import Foundation

/// Dong et al.'s Figure 2 for a checkpoint: `dong_ratio` by layer for the four
/// surgeries, trained (left) and at HF's initialisation (right), each curve
/// the mean over inputs with two bands: ± one standard deviation (shaded) and
/// the 1 %–99 % quantiles (dotted lines).
///
/// `values[panel][variant][layer][sample]`. `variants` names the legend's
/// variants; nil when the panels' blocks differ (the legend then names the
/// surgeries only).
func dongFigureSVG(panels: [(title: String, values: [[[Double]]])], variants: [Variant]?, caption: String) -> String {
  let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
  let names = ["SAN", "SAN+MLP", "SAN+skip", "unmodified"]
  let panelWidth = 380.0, panelHeight = 280.0, margin = 60.0, top = 64.0
  let width = Double(panels.count) * (panelWidth + margin) + margin, height = top + panelHeight + 120
  let stats = panels.map { panel in panel.values.map { $0.map(spread) } }
  let highest = stats.flatMap { $0.flatMap { $0.flatMap { [$0.p99, $0.mean + ($0.standardDeviation.isFinite ? $0.standardDeviation : 0)] } } }.filter(\.isFinite).max() ?? 1
  let (low, high, ticks) = niceAxis(low: 0, high: max(highest, 1e-3), includeZero: true)
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(margin)" y="26" font-size="15" font-weight="bold">Dong et al.'s Figure 2: ‖X − 1·meanᵀ‖ / ‖X‖ in √(‖·‖₁‖·‖∞), by layer</text>

    """
  for (p, panel) in panels.enumerated() {
    let x0 = margin + Double(p) * (panelWidth + margin), y0 = top
    let layers = panel.values.first.map { $0.count - 1 } ?? 0
    func px(_ l: Int) -> Double { x0 + Double(l) / Double(max(1, layers)) * panelWidth }
    func py(_ v: Double) -> Double { y0 + panelHeight - (min(max(v, low), high) - low) / (high - low) * panelHeight }
    svg += "<text x=\"\(x0)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(svgEscape(panel.title))</text>\n"
    svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
    for value in ticks {
      svg += "<line x1=\"\(x0)\" x2=\"\(x0 + panelWidth)\" y1=\"\(py(value))\" y2=\"\(py(value))\" stroke=\"#e5e5e5\"/>\n"
      svg += "<text x=\"\(x0 - 6)\" y=\"\(py(value) + 4)\" text-anchor=\"end\">\(String(format: "%g", value))</text>\n"
    }
    let labelStep = layers > 16 ? 5 : 1
    for l in stride(from: 0, through: layers, by: labelStep) {
      svg += "<text x=\"\(px(l))\" y=\"\(y0 + panelHeight + 16)\" text-anchor=\"middle\">\(l)</text>\n"
    }
    svg += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 + panelHeight + 34)\" text-anchor=\"middle\">layer (0 = embedding output)</text>\n"
    for (v, perLayer) in stats[p].enumerated() {
      let color = colors[v % colors.count]
      let upper = perLayer.enumerated().map { "\(px($0.offset)),\(py($0.element.mean + ($0.element.standardDeviation.isFinite ? $0.element.standardDeviation : 0)))" }
      let lower = perLayer.enumerated().reversed().map { "\(px($0.offset)),\(py($0.element.mean - ($0.element.standardDeviation.isFinite ? $0.element.standardDeviation : 0)))" }
      svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
      for quantile in [\(mean: Double, standardDeviation: Double, p1: Double, p99: Double).p1, \.p99] {
        let points = perLayer.enumerated().map { "\(px($0.offset)),\(py($0.element[keyPath: quantile]))" }
        svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1\" stroke-dasharray=\"1 3\" points=\"\(points.joined(separator: " "))\"/>\n"
      }
      let means = perLayer.enumerated().map { "\(px($0.offset)),\(py($0.element.mean))" }
      svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\" points=\"\(means.joined(separator: " "))\"/>\n"
      for point in means {
        let xy = point.split(separator: ",")
        svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
      }
    }
  }
  // The legend wraps to a second row where the panels are too narrow for it.
  var legendY = top + panelHeight + 62
  var x = margin
  let labels = variants.map { $0.enumerated().map { "\($0.offset < names.count ? names[$0.offset] + " " : "")(\($0.element.description))" } } ?? names
  for (v, label) in labels.enumerated() {
    let entryWidth = 48 + 7.0 * Double(label.count)
    if x > margin && x + entryWidth > width - margin / 2 {
      x = margin
      legendY += 20
    }
    svg += "<line x1=\"\(x)\" x2=\"\(x + 28)\" y1=\"\(legendY)\" y2=\"\(legendY)\" stroke=\"\(colors[v % colors.count])\" stroke-width=\"3\"/>\n"
    svg += "<text x=\"\(x + 34)\" y=\"\(legendY + 4)\">\(svgEscape(label))</text>\n"
    x += entryWidth
  }
  svg += "<text x=\"\(margin)\" y=\"\(legendY + 26)\" fill=\"#555\">Lines: mean over inputs. Shaded: ± one standard deviation. Dotted: 1 % and 99 % quantiles.</text>\n"
  svg += "<text x=\"\(margin)\" y=\"\(legendY + 44)\" fill=\"#555\">\(svgEscape(caption))</text>\n"
  svg = svg.replacingOccurrences(of: "height=\"\(Int(height))\"", with: "height=\"\(Int(max(height, legendY + 60)))\"")
  svg += "</svg>\n"
  return svg
}

func svgEscape(_ text: String) -> String {
  text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
