/// Which trained checkpoint, text and perturbation a run uses: the part of a
/// run's identity that `--model`, `--text` and `--perturb` set.
///
/// Two sources are equal when their content is: the SHA-256 of the weights
/// and of the text, the window count and the perturbation size. The
/// directory and text paths are recorded for the reader but take no part in
/// equality, so shards run on machines that mount the checkpoint at
/// different paths still merge.
public struct CheckpointSource: Codable, Sendable, Hashable {
  /// The checkpoint directory as given (informational).
  public var directory: String
  /// config.json's `_name_or_path`, or the directory's name (informational).
  public var name: String
  /// SHA-256 of model.safetensors (of each shard in index order, joined by ',').
  public var modelSHA256: String
  /// `--perturb`: each sample uses T + perturbation·rms(T)·G for every tensor T.
  public var perturbation: Double
  /// The `--text` file as given (informational), its SHA-256 and how many
  /// windows of seq-len tokens it gives; nil for random-token inputs.
  public var textPath: String?
  public var textSHA256: String?
  public var windowCount: Int?

  public init(
    directory: String, name: String, modelSHA256: String, perturbation: Double = 0, textPath: String? = nil,
    textSHA256: String? = nil, windowCount: Int? = nil
  ) {
    self.directory = directory
    self.name = name
    self.modelSHA256 = modelSHA256
    self.perturbation = perturbation
    self.textPath = textPath
    self.textSHA256 = textSHA256
    self.windowCount = windowCount
  }

  public static func == (a: CheckpointSource, b: CheckpointSource) -> Bool {
    a.modelSHA256 == b.modelSHA256 && a.perturbation == b.perturbation && a.textSHA256 == b.textSHA256
      && a.windowCount == b.windowCount
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(modelSHA256)
    hasher.combine(perturbation)
    hasher.combine(textSHA256)
    hasher.combine(windowCount)
  }

  /// Names the first difference from `other` for resume and merge refusals.
  public func mismatch(with other: CheckpointSource) -> String? {
    if modelSHA256 != other.modelSHA256 {
      return "checkpoint differs (\(directory), sha256 \(modelSHA256.prefix(12))… vs \(other.directory), sha256 \(other.modelSHA256.prefix(12))…)"
    }
    if textSHA256 != other.textSHA256 || windowCount != other.windowCount {
      return "text differs (\(textPath ?? "random tokens"), sha256 \(textSHA256.map { String($0.prefix(12)) } ?? "-") vs \(other.textPath ?? "random tokens"), sha256 \(other.textSHA256.map { String($0.prefix(12)) } ?? "-"))"
    }
    if perturbation != other.perturbation { return "perturbation differs (\(perturbation) vs \(other.perturbation))" }
    return nil
  }
}
