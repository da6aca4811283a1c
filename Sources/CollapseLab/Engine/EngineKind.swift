/// Which engine produced a run's numbers: part of the run's identity, so
/// resume and merge refuse results of another engine. The raw values are what
/// `state.json` and `summary.json` record.
public enum EngineKind: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
  /// Every weight matrix materialised (`DenseEngine`; trained checkpoints).
  case dense
  /// Products sampled in the n-dimensional row space of the activations (`SketchEngine`).
  case sketch
  /// Every state kept in the n-dimensional Gram space of its tokens (`GramEngine`).
  case gram
  /// Saved hidden states read from files (`HiddenStateEngine`, `mc-generic measure`).
  case measure

  public var description: String { rawValue }

  /// The engine that runs random models of this kind (nil for `measure`,
  /// whose engine needs its files).
  public func makeRandomModelEngine() -> (any ForwardEngine)? {
    switch self {
    case .dense: DenseEngine()
    case .sketch: SketchEngine()
    case .gram: GramEngine()
    case .measure: nil
    }
  }
}
