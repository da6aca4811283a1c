import Foundation

/// Reading NumPy's `.npy` format (NEP 1): the magic `\x93NUMPY`, a version
/// byte pair, the header length (2 bytes in version 1, 4 in versions 2 and
/// 3), then a Python dict literal `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (13, 8, 16, 384), }` padded with spaces, then the data.
///
/// Accepted: little-endian (or byte-order-free) `f2`, `f4`, `f8`, `i8`,
/// `i4`, `u1`, `b1` in C order. Refused by name: Fortran order, big-endian,
/// object and structured dtypes (including `V2`, which is how `np.save`
/// writes ml_dtypes' bfloat16: save F32 or use safetensors for BF16).
enum NumpyFormat {
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
  /// NumPy itself refuses headers above 10,000 bytes unless told otherwise.
  static let maximumHeaderLength = 1 << 20

  /// The array stored at `offset` (a `.npy` file, or an entry of a `.npz`)
  /// whose bytes may extend to `end`; `name` labels messages.
  static func array(in file: ReadOnlyFile, at offset: Int, end: Int, name: String) throws(CheckpointError) -> StoredArray {
    let label = offset == 0 ? file.path : "\(file.path): '\(name)'"
    guard end - offset >= 10 else { throw CheckpointError("\(label): truncated .npy (\(end - offset) bytes, the preamble alone needs 10)") }
    let preamble = [UInt8](try file.bytes(at: offset, count: 10))
    guard Array(preamble[0..<6]) == magic else { throw CheckpointError("\(label): not a .npy array (no \\x93NUMPY magic)") }
    let major = preamble[6]
    let headerLength: Int, headerStart: Int
    switch major {
    case 1:
      headerLength = Int(preamble[8]) | Int(preamble[9]) << 8
      headerStart = offset + 10
    case 2, 3:
      guard end - offset >= 12 else { throw CheckpointError("\(label): truncated .npy header") }
      let extra = [UInt8](try file.bytes(at: offset + 10, count: 2))
      headerLength = Int(preamble[8]) | Int(preamble[9]) << 8 | Int(extra[0]) << 16 | Int(extra[1]) << 24
      headerStart = offset + 12
    default:
      throw CheckpointError("\(label): .npy format version \(major).\(preamble[7]) is not supported (1, 2 and 3 are)")
    }
    guard headerLength <= maximumHeaderLength, headerStart + headerLength <= end else {
      throw CheckpointError("\(label): .npy header of \(headerLength) bytes runs past the end (\(end - headerStart) bytes left): truncated")
    }
    let headerData = try file.bytes(at: headerStart, count: headerLength)
    guard let header = String(data: headerData, encoding: major == 3 ? .utf8 : .isoLatin1) else {
      throw CheckpointError("\(label): .npy header is not text")
    }
    let fields = try parseHeader(header, label: label)
    var array = StoredArray(name: name, elementType: fields.type, shape: fields.shape, offset: headerStart + headerLength)
    guard let bytes = array.byteCount else { throw CheckpointError("\(label): shape \(array.shapeDescription) overflows") }
    if array.offset + bytes > end {
      throw CheckpointError("\(label): shape \(array.shapeDescription) of \(fields.type.rawValue) needs \(bytes) bytes, the file has \(end - array.offset) after the header: truncated")
    }
    array.name = name
    return array
  }

  /// The dtype and shape of a header dict; every other key is ignored.
  static func parseHeader(_ text: String, label: String) throws(CheckpointError) -> (type: StoredElementType, shape: [Int]) {
    guard let descr = stringValue(of: "descr", in: text) else {
      if text.contains("'descr': [") || text.contains("'descr':[") {
        throw CheckpointError("\(label): structured dtype; hidden states must be a plain float array")
      }
      throw CheckpointError("\(label): .npy header has no 'descr' string")
    }
    guard let order = wordValue(of: "fortran_order", in: text) else { throw CheckpointError("\(label): .npy header has no 'fortran_order'") }
    if order == "True" {
      throw CheckpointError("\(label): array is in Fortran order; save it in C order (np.ascontiguousarray) so that each sequence's rows are contiguous")
    }
    guard order == "False" else { throw CheckpointError("\(label): 'fortran_order' is '\(order)', not True or False") }
    let type: StoredElementType
    switch descr {
    case "<f2": type = .float16
    case "<f4": type = .float32
    case "<f8": type = .float64
    case "<i8": type = .int64
    case "<i4": type = .int32
    case "|u1", "<u1": type = .uint8
    case "|b1": type = .bool
    case "|O", "<O", "O":
      throw CheckpointError("\(label): object dtype ('\(descr)') holds Python objects, not numbers; save a float array")
    case "<V2", "|V2", "V2":
      throw CheckpointError("\(label): dtype '\(descr)' (how np.save writes bfloat16) is not self-describing; save float32 or float16, or BF16 in safetensors")
    default:
      if descr.hasPrefix(">") {
        throw CheckpointError("\(label): big-endian dtype '\(descr)'; save little-endian (arr.astype(arr.dtype.newbyteorder('<')))")
      }
      throw CheckpointError("\(label): dtype '\(descr)' is not supported (float16, float32, float64; lengths and masks int64, int32, uint8, bool)")
    }
    guard let shapeText = tupleValue(of: "shape", in: text) else { throw CheckpointError("\(label): .npy header has no 'shape' tuple") }
    var shape: [Int] = []
    for part in shapeText.split(separator: ",", omittingEmptySubsequences: true) {
      let token = part.trimmingCharacters(in: .whitespaces)
      if token.isEmpty { continue }
      guard let extent = Int(token), extent >= 0 else { throw CheckpointError("\(label): shape entry '\(token)' is not a non-negative integer") }
      shape.append(extent)
    }
    return (type, shape)
  }

  /// The position just after `'key':` and any spaces, or nil.
  private static func valueStart(of key: String, in text: String) -> String.Index? {
    guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else { return nil }
    var index = keyRange.upperBound
    while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
    guard index < text.endIndex, text[index] == ":" else { return nil }
    index = text.index(after: index)
    while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
    return index
  }

  private static func stringValue(of key: String, in text: String) -> String? {
    guard let start = valueStart(of: key, in: text), start < text.endIndex else { return nil }
    let quote = text[start]
    guard quote == "'" || quote == "\"" else { return nil }
    let body = text.index(after: start)
    guard let close = text[body...].firstIndex(of: quote) else { return nil }
    return String(text[body..<close])
  }

  private static func wordValue(of key: String, in text: String) -> String? {
    guard let start = valueStart(of: key, in: text) else { return nil }
    let word = text[start...].prefix { $0.isLetter }
    return word.isEmpty ? nil : String(word)
  }

  private static func tupleValue(of key: String, in text: String) -> String? {
    guard let start = valueStart(of: key, in: text), start < text.endIndex, text[start] == "(" else { return nil }
    let body = text.index(after: start)
    guard let close = text[body...].firstIndex(of: ")") else { return nil }
    return String(text[body..<close])
  }
}
