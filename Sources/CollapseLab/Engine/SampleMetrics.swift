/// Where an engine writes one sample's metrics: `variants × (layers + 1)`
/// values in memory the caller owns (variant-major: variant v's layer l is
/// element `v · (layers + 1) + l`), so that a sample needs no result arrays.
///
/// A view, not an owner: the memory must outlive every use of the view.
/// Engines write each element once per sample; `MonteCarloRun` keeps one
/// buffer per batch of samples.
public struct SampleMetrics {
  public let variants: Int
  /// Transformer layers: each variant has `layers + 1` values (layer 0 is the input).
  public let layers: Int
  private let base: UnsafeMutablePointer<MetricValues>

  /// A view of `storage`, which must hold exactly `variants × (layers + 1)` values.
  public init(_ storage: UnsafeMutableBufferPointer<MetricValues>, variants: Int, layers: Int) {
    precondition(
      storage.count == variants * (layers + 1),
      "SampleMetrics: \(storage.count) values for \(variants) variants × \(layers + 1) layers")
    self.variants = variants
    self.layers = layers
    base = storage.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<MetricValues>.alignment)!
  }

  /// Values per sample for `configuration`: its variants × (layers + 1).
  public static func count(for configuration: ModelConfiguration) -> Int {
    configuration.variants.count * (configuration.layers + 1)
  }

  public subscript(variant v: Int, layer l: Int) -> MetricValues {
    get {
      precondition(v >= 0 && v < variants && l >= 0 && l <= layers, "SampleMetrics: variant \(v), layer \(l) out of range")
      return base[v * (layers + 1) + l]
    }
    nonmutating set {
      precondition(v >= 0 && v < variants && l >= 0 && l <= layers, "SampleMetrics: variant \(v), layer \(l) out of range")
      base[v * (layers + 1) + l] = newValue
    }
  }

  /// Writes `nested[v][l]` for every variant and layer (an engine's array result).
  public func assign(_ nested: [[MetricValues]]) {
    precondition(
      nested.count == variants && nested.allSatisfy { $0.count == layers + 1 },
      "SampleMetrics: an engine returned \(nested.map(\.count)) values per variant, expected \(variants) × \(layers + 1)")
    for (v, perLayer) in nested.enumerated() {
      for (l, values) in perLayer.enumerated() { self[variant: v, layer: l] = values }
    }
  }

  /// `result[v][l]`: the values as nested arrays (allocates).
  public var nested: [[MetricValues]] {
    (0..<variants).map { v in (0...layers).map { self[variant: v, layer: $0] } }
  }

  /// Runs `body` on a temporary buffer for `configuration` and returns what it wrote as nested arrays.
  static func collecting(
    for configuration: ModelConfiguration, _ body: (SampleMetrics) throws -> Void
  ) rethrows -> [[MetricValues]] {
    let storage = UnsafeMutableBufferPointer<MetricValues>.allocate(capacity: count(for: configuration))
    storage.initialize(repeating: MetricValues(repeating: .nan))
    defer { storage.deallocate() }
    let view = SampleMetrics(storage, variants: configuration.variants.count, layers: configuration.layers)
    try body(view)
    return view.nested
  }
}
