@testable import CollapseLab
import Foundation
import Testing

@Suite("Fixed histograms and the quantiles read from them")
struct TalliesTests {
  /// Slots: 0 underflow, 1…bins the equal steps (lower edge inclusive), bins + 1 overflow; NaN none.
  @Test func slotsFollowTheBinEdges() {
    let linear = HistogramSpec(lower: 0, upper: 10, bins: 10, logarithmic: false)
    #expect(linear.slot(of: -0.001) == 0)
    #expect(linear.slot(of: 0) == 1)
    #expect(linear.slot(of: 0.999) == 1)
    #expect(linear.slot(of: 1) == 2)
    #expect(linear.slot(of: 9.999) == 10)
    #expect(linear.slot(of: 10) == 11)
    #expect(linear.slot(of: .infinity) == 11)
    #expect(linear.slot(of: -.infinity) == 0)
    #expect(linear.slot(of: .nan) == nil)
    #expect(linear.representative(of: 1) == 0.5 && linear.representative(of: 10) == 9.5)
    let logarithmic = HistogramSpec(lower: -2, upper: 2, bins: 4, logarithmic: true)
    #expect(logarithmic.slot(of: 0) == 0)  // log10(0) = −∞
    #expect(logarithmic.slot(of: 0.01) == 1 && logarithmic.slot(of: 0.5) == 2 && logarithmic.slot(of: 5) == 3 && logarithmic.slot(of: 50) == 4)
    #expect(abs(logarithmic.representative(of: 3) - pow(10, 0.5)) < 1e-12)
  }

  /// Rank histograms have one bin per integer rank 0…min(n, d).
  @Test func rankBinsAreTheIntegers() {
    var c = ModelConfiguration()
    c.sequenceLength = 7
    c.modelDimension = 5
    let spec = HistogramSpec.forMetric(.rank, configuration: c)
    #expect(spec.bins == 6)
    for rank in 0...5 { #expect(spec.slot(of: Double(rank)) == rank + 1) }
  }

  /// A quantile is the representative of the bin holding it: within half a
  /// bin of the exact order statistic, and clamped to the observed range.
  @Test(arguments: [0.01, 0.25, 0.5, 0.9, 0.99])
  func quantilesAreWithinHalfABin(q: Double) {
    let spec = HistogramSpec(lower: 0, upper: 1, bins: 200, logarithmic: false)
    var tallies = Tallies(specs: [spec])
    var moments = Moments()
    // A skewed sample: squares of 1000 evenly spaced points.
    let values = (0..<1000).map { pow((Double($0) + 0.5) / 1000, 2) }
    for value in values {
      tallies.add(value, at: 0, spec: spec)
      moments.add(value)
    }
    let exact = values.sorted()[Int((q * 1000).rounded(.up)) - 1]
    let estimate = tallies.quantile(q, entry: 0, spec: spec, moments: moments)!
    #expect(abs(estimate - exact) <= 0.5 / 200 + 1e-12, "q \(q): \(estimate) vs \(exact)")
    // Everything in the overflow bin reports the exact maximum.
    var high = Tallies(specs: [spec])
    var highMoments = Moments()
    for value in [3.0, 4.0, 7.5] {
      high.add(value, at: 0, spec: spec)
      highMoments.add(value)
    }
    #expect(high.quantile(q, entry: 0, spec: spec, moments: highMoments) == 7.5)
    #expect(Tallies(specs: [spec]).quantile(q, entry: 0, spec: spec, moments: Moments()) == nil)
  }

  /// Integer counts merge exactly in any order.
  @Test func absorbingIsOrderFree() {
    let spec = HistogramSpec(lower: -1, upper: 1, bins: 20, logarithmic: false)
    var a = Tallies(specs: [spec]), b = Tallies(specs: [spec]), whole = Tallies(specs: [spec])
    for i in 0..<100 {
      let value = sin(Double(i))
      if i % 3 == 0 { a.add(value, at: 0, spec: spec) } else { b.add(value, at: 0, spec: spec) }
      whole.add(value, at: 0, spec: spec)
    }
    var ab = a, ba = b
    ab.absorb(b)
    ba.absorb(a)
    #expect(ab == whole && ba == whole)
  }
  /// The hand-written encoding is the synthesised one's text,
  /// `{"counts":[[…],…]}`, and decodes back to the same tallies.
  @Test func encodingKeepsTheCountsFormat() throws {
    let specs = [HistogramSpec(lower: 0, upper: 1, bins: 3, logarithmic: false), HistogramSpec(lower: -1, upper: 1, bins: 1, logarithmic: false)]
    var tallies = Tallies(specs: specs)
    for value in [0.1, 0.5, 0.5, 2.0, -3.0] { tallies.add(value, at: 0, spec: specs[0]) }
    tallies.add(0.25, at: 1, spec: specs[1])
    let text = String(decoding: try JSONEncoder().encode(tallies), as: UTF8.self)
    #expect(text == #"{"counts":[[1,1,2,0,1],[0,1,0]]}"#)
    #expect(try JSONDecoder().decode(Tallies.self, from: Data(text.utf8)) == tallies)
  }
}
