/// The saved hidden states a `measure` run reads: the part of its identity
/// that replaces a model. Recorded in `summary.json` and `state.json`.
///
/// Two sources are equal when their content is: the files' SHA-256s in
/// order and the rows kept per sequence (`rowSelection`). Paths and the
/// metadata are recorded for the reader and take no part in equality, so
/// shards measured where the files sit at other paths still merge.
public struct MeasuredStatesSource: Codable, Sendable, Hashable {
  /// One input file, in the order given.
  public struct File: Codable, Sendable, Hashable {
    /// As given on the command line (informational).
    public var path: String
    public var sha256: String
    /// `safetensors`, `npy` or `npz`, and `stacked` (one [L+1, S, n, d]
    /// array) or `per-layer` (one [S, n, d] array per state).
    public var format: String
    public var layout: String
    /// The hidden states' element type (F16, BF16, F32, F64).
    public var elementType: String
    /// Sequences S in this file.
    public var sequences: Int

    public init(path: String, sha256: String, format: String, layout: String, elementType: String, sequences: Int) {
      self.path = path
      self.sha256 = sha256
      self.format = format
      self.layout = layout
      self.elementType = elementType
      self.sequences = sequences
    }
  }

  public var files: [File]
  /// `lengths`, `attention_mask` or `all rows`: which rows of each sequence are measured.
  public var rowSelection: String
  /// The metadata of the first file (safetensors `__metadata__`, or the JSON
  /// beside a `.npy`/`.npz`): `model`, `embeddings_index`,
  /// `final_norm_applied` and any other keys, as strings.
  public var metadata: [String: String]

  /// The name results give the one series of a `measure` run.
  public static let variantLabel = "measured"

  public init(files: [File], rowSelection: String, metadata: [String: String]) {
    self.files = files
    self.rowSelection = rowSelection
    self.metadata = metadata
  }

  /// The model name from the metadata, else the first file's name.
  public var name: String {
    metadata["model"] ?? files.first.map { String($0.path.split(separator: "/").last ?? Substring($0.path)) } ?? "hidden states"
  }

  public static func == (a: MeasuredStatesSource, b: MeasuredStatesSource) -> Bool {
    a.files.map(\.sha256) == b.files.map(\.sha256) && a.rowSelection == b.rowSelection
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(files.map(\.sha256))
    hasher.combine(rowSelection)
  }

  /// Names the first difference from `other` for resume and merge refusals.
  public func mismatch(with other: MeasuredStatesSource) -> String? {
    if files.count != other.files.count {
      return "input files differ (\(files.count) vs \(other.files.count) files)"
    }
    for (mine, theirs) in zip(files, other.files) where mine.sha256 != theirs.sha256 {
      return "input file differs (\(mine.path), sha256 \(mine.sha256.prefix(12))… vs \(theirs.path), sha256 \(theirs.sha256.prefix(12))…)"
    }
    if rowSelection != other.rowSelection { return "rows measured differ (\(rowSelection) vs \(other.rowSelection))" }
    return nil
  }
}
