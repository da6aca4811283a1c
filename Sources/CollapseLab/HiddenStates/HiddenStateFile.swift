import Foundation

/// One file of saved hidden states (`mc-generic measure`): L + 1 states of
/// S sequences × n tokens × d, with optional per-sequence lengths or an
/// attention mask and optional metadata.
///
/// Layouts (README, "Measure your own model"):
/// - safetensors: tensors `hidden_states.0` … `hidden_states.L` of shape
///   [S, n, d], or one `hidden_states` of shape [L+1, S, n, d]; F16, BF16,
///   F32 or F64; optional `lengths` [S] or `attention_mask` [S, n] (I64, I32,
///   U8 or BOOL) and `input_ids` (ignored); metadata in `__metadata__`.
/// - `.npy`: one array [L+1, S, n, d] (float16, float32, float64); lengths
///   and metadata in the JSON file beside it (`x.npy` → `x.json`).
/// - `.npz` (`np.savez`, not compressed): `hidden_states.0` … (or `arr_0` …,
///   as `np.savez(f, *layers)` names them) of [S, n, d], or one
///   `hidden_states` [L+1, S, n, d]; `lengths` or `attention_mask` as above;
///   metadata in the JSON file beside it.
///
/// Opening reads only headers and the side arrays and checks every shape and
/// value; the states are read later a sequence at a time (`readState`).
/// Safe to share between threads.
public final class HiddenStateFile: Sendable {
  public enum Format: String, Sendable { case safetensors, npy, npz }

  public let path: String
  public let format: Format
  /// `stacked` (one [L+1, S, n, d] array) or `per-layer`.
  public let layout: String
  public let elementType: StoredElementType
  /// Sequences S, tokens n and width d.
  public let sequences: Int
  public let tokens: Int
  public let width: Int
  /// Metadata strings (`model`, `embeddings_index`, `final_norm_applied`, …).
  public let metadata: [String: String]
  /// `lengths`, `attention_mask` or `all rows`.
  public let rowSelection: String

  let file: ReadOnlyFile
  /// State l of every sequence, [S, n, d].
  let states: [StoredArray]
  /// Tokens kept per sequence (`lengths`), or nil.
  let lengths: [Int]?
  /// The attention mask, S × n (1: keep), or nil.
  let mask: [UInt8]?

  /// The file's size in bytes.
  public var byteCount: Int { file.length }

  /// The number of hidden states, L + 1.
  public var stateCount: Int { states.count }

  /// Opens and checks `path`; the format follows the extension (`.npy`,
  /// `.npz`, else safetensors). Every failure names the file and the values.
  public init(path: String) throws(CheckpointError) {
    self.path = path
    let file = try ReadOnlyFile(path: path)
    self.file = file
    var arrays: [StoredArray]
    var metadata: [String: String] = [:]
    var sidecarLengths: [Int]? = nil
    if path.hasSuffix(".npy") {
      format = .npy
      arrays = [try NumpyFormat.array(in: file, at: 0, end: file.length, name: "hidden_states")]
      (metadata, sidecarLengths) = try Self.sidecar(of: path)
    } else if path.hasSuffix(".npz") {
      format = .npz
      arrays = try NPZArchive.arrays(in: file)
      (metadata, sidecarLengths) = try Self.sidecar(of: path)
    } else {
      format = .safetensors
      let header = try SafetensorsFile(contentsOf: URL(fileURLWithPath: path))
      metadata = header.metadata
      arrays = try header.tensors.values.sorted { $0.name < $1.name }.map { info throws(CheckpointError) in
        guard let type = StoredElementType(rawValue: info.dataType.rawValue) else {
          throw CheckpointError("\(path): tensor '\(info.name)' has dtype \(info.dataType.rawValue) (hidden states: F16, BF16, F32, F64; lengths and masks: I64, I32, U8, BOOL)")
        }
        return StoredArray(name: info.name, elementType: type, shape: info.shape, offset: header.dataOffset + info.byteRange.lowerBound)
      }
    }
    self.metadata = metadata

    // Sort the arrays into states and side arrays; nothing unknown is ignored silently.
    var byName: [String: StoredArray] = [:]
    for array in arrays { byName[array.name] = array }
    let stacked = byName.removeValue(forKey: "hidden_states")
    let lengthsArray = byName.removeValue(forKey: "lengths")
    let maskArray = byName.removeValue(forKey: "attention_mask")
    byName.removeValue(forKey: "input_ids")
    var perLayer: [StoredArray] = []
    for prefix in ["hidden_states.", "arr_"] {
      var index = 0
      while let array = byName.removeValue(forKey: "\(prefix)\(index)") {
        perLayer.append(array)
        index += 1
      }
      if !perLayer.isEmpty { break }
    }
    if let stray = byName.keys.sorted().first {
      let missing = stray.hasPrefix("hidden_states.") || stray.hasPrefix("arr_")
      throw CheckpointError(
        missing
          ? "\(path): '\(stray)' present but state \(perLayer.count) missing: per-layer states must be numbered 0, 1, 2, … without gaps"
          : "\(path): unexpected array '\(stray)' (expected hidden_states.0 … hidden_states.L or hidden_states, and optionally lengths, attention_mask, input_ids)")
    }
    if stacked != nil && !perLayer.isEmpty {
      throw CheckpointError("\(path): holds both 'hidden_states' and per-layer '\(perLayer[0].name)': give one layout")
    }

    var states: [StoredArray]
    if let stacked {
      guard stacked.shape.count == 4 else {
        throw CheckpointError("\(path): '\(stacked.name)' has shape \(stacked.shapeDescription); a stacked export is [L+1, sequences, n, d]")
      }
      let perState = StoredArray(name: stacked.name, elementType: stacked.elementType, shape: Array(stacked.shape.dropFirst()), offset: 0)
      let stride = perState.byteCount ?? 0
      states = (0..<stacked.shape[0]).map { l in
        StoredArray(name: "\(stacked.name)[\(l)]", elementType: stacked.elementType, shape: perState.shape, offset: stacked.offset + l * stride)
      }
      layout = "stacked"
    } else {
      states = perLayer
      layout = "per-layer"
    }
    guard let first = states.first else {
      throw CheckpointError("\(path): no hidden states (expected hidden_states.0 … hidden_states.L, or hidden_states [L+1, sequences, n, d])")
    }
    guard first.elementType.isFloatingPoint else {
      throw CheckpointError("\(path): '\(first.name)' has dtype \(first.elementType.rawValue); hidden states must be F16, BF16, F32 or F64")
    }
    for state in states {
      guard state.shape.count == 3 else {
        throw CheckpointError("\(path): '\(state.name)' has shape \(state.shapeDescription); each state is [sequences, n, d]")
      }
      if state.shape != first.shape {
        throw CheckpointError("\(path): '\(state.name)' has shape \(state.shapeDescription) but '\(first.name)' has \(first.shapeDescription)")
      }
      if state.elementType != first.elementType {
        throw CheckpointError("\(path): '\(state.name)' is \(state.elementType.rawValue) but '\(first.name)' is \(first.elementType.rawValue)")
      }
    }
    if states.count < 2 {
      throw CheckpointError("\(path): \(states.count) hidden state; at least two are needed (the embeddings and one layer)")
    }
    elementType = first.elementType
    let (sequences, tokens, width) = (first.shape[0], first.shape[1], first.shape[2])
    (self.sequences, self.tokens, self.width) = (sequences, tokens, width)
    if sequences < 1 { throw CheckpointError("\(path): no sequences (states of shape \(first.shapeDescription))") }
    if tokens < 2 { throw CheckpointError("\(path): n = \(tokens) tokens per sequence; affine rank needs at least 2") }
    if width < 1 { throw CheckpointError("\(path): hidden size d = 0 (states of shape \(first.shapeDescription))") }
    self.states = states

    // Which rows of each sequence count.
    if sidecarLengths != nil && lengthsArray != nil {
      throw CheckpointError("\(path): lengths given both in the file and in its JSON metadata; give one")
    }
    if lengthsArray != nil && maskArray != nil {
      throw CheckpointError("\(path): holds both 'lengths' and 'attention_mask'; give one")
    }
    var lengths = sidecarLengths
    if let array = lengthsArray {
      guard array.elementType.isInteger, array.shape == [sequences] else {
        throw CheckpointError("\(path): 'lengths' is \(array.elementType.rawValue) \(array.shapeDescription); expected integers of shape [\(sequences)]")
      }
      lengths = try array.readIntegers(from: file)
    }
    if let lengths {
      guard lengths.count == sequences else {
        throw CheckpointError("\(path): \(lengths.count) lengths for \(sequences) sequences")
      }
      if let bad = lengths.firstIndex(where: { !(1...tokens).contains($0) }) {
        throw CheckpointError("\(path): lengths[\(bad)] = \(lengths[bad]), outside 1...\(tokens) (n)")
      }
    }
    var mask: [UInt8]? = nil
    if let array = maskArray {
      guard array.elementType.isInteger, array.shape == [sequences, tokens] else {
        throw CheckpointError("\(path): 'attention_mask' is \(array.elementType.rawValue) \(array.shapeDescription); expected integers of shape [\(sequences), \(tokens)]")
      }
      let values = try array.readIntegers(from: file)
      if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
        throw CheckpointError("\(path): attention_mask[\(bad / tokens), \(bad % tokens)] = \(values[bad]); a mask holds 0 and 1")
      }
      for s in 0..<sequences where !values[(s * tokens)..<((s + 1) * tokens)].contains(1) {
        throw CheckpointError("\(path): attention_mask row \(s) keeps no token")
      }
      mask = values.map { UInt8($0) }
    }
    self.lengths = lengths
    self.mask = mask
    rowSelection = lengths != nil ? "lengths" : mask != nil ? "attention_mask" : "all rows"
  }

  /// The metadata and lengths in the JSON file beside a `.npy`/`.npz`
  /// (`x.npy` → `x.json`), if there is one: an object whose `lengths` is an
  /// array of integers and whose other values are recorded as strings.
  private static func sidecar(of path: String) throws(CheckpointError) -> ([String: String], [Int]?) {
    let jsonPath = String(path.dropLast(4)) + ".json"
    guard FileManager.default.fileExists(atPath: jsonPath) else { return ([:], nil) }
    guard let data = FileManager.default.contents(atPath: jsonPath) else { throw CheckpointError("\(jsonPath): unreadable") }
    guard let object = try? JSONSerialization.jsonObject(with: data), let fields = object as? [String: Any] else {
      throw CheckpointError("\(jsonPath): not a JSON object (the metadata of \(path))")
    }
    var metadata: [String: String] = [:]
    var lengths: [Int]? = nil
    for (key, value) in fields {
      if key == "lengths" {
        guard let values = value as? [Any] else { throw CheckpointError("\(jsonPath): 'lengths' must be an array of integers") }
        lengths = try values.map { item throws(CheckpointError) in
          guard let number = item as? NSNumber, !isJSONBoolean(number), let integer = Int(exactly: number.doubleValue) else {
            throw CheckpointError("\(jsonPath): 'lengths' holds '\(item)', not an integer")
          }
          return integer
        }
        continue
      }
      switch value {
      case let text as String: metadata[key] = text
      case let number as NSNumber:
        metadata[key] = isJSONBoolean(number) ? (number.boolValue ? "true" : "false") : number.stringValue
      default:
        let encoded = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
        metadata[key] = String(decoding: encoded, as: UTF8.self)
      }
    }
    return (metadata, lengths)
  }

  /// The rows of sequence `sequence` that are measured, in order.
  func keptRows(of sequence: Int) -> [Int]? {
    if let lengths { return lengths[sequence] == tokens ? nil : Array(0..<lengths[sequence]) }
    if let mask {
      let row = mask[(sequence * tokens)..<((sequence + 1) * tokens)]
      if !row.contains(0) { return nil }
      return row.indices.filter { row[$0] != 0 }.map { $0 - sequence * tokens }
    }
    return nil
  }

  /// Reads state `state` of sequence `sequence` into `output` (n × d,
  /// row-major) as Float32, the kept rows moved to the top; returns how
  /// many rows are kept.
  func readState(
    _ state: Int, sequence: Int, into output: UnsafeMutablePointer<Float>, scratch: inout [UInt8]
  ) throws(CheckpointError) -> Int {
    let count = tokens * width
    try states[state].readFloats(from: file, first: sequence * count, count: count, into: output, scratch: &scratch)
    guard let rows = keptRows(of: sequence) else { return tokens }
    for (target, source) in rows.enumerated() where target != source {
      (output + target * width).update(from: output + source * width, count: width)
    }
    return rows.count
  }
}

