import Foundation

/// A tensor to write: its name, dtype, shape and Float32 values (rounded to the dtype).
struct TensorToWrite {
  var name: String
  var dataType: TensorDataType
  var shape: [Int]
  var values: [Float]
  /// Raw bytes instead of `values` (I64 buffers).
  var raw: [UInt8]? = nil
}

/// Serialises tensors in the safetensors format, offsets in the given order,
/// the JSON header padded with spaces to a multiple of 8 bytes (as the
/// reference writer does).
func safetensorsBytes(_ tensors: [TensorToWrite], metadata: [String: String]? = ["format": "pt"]) -> [UInt8] {
  var data: [UInt8] = []
  var entries: [String] = []
  if let metadata {
    entries.append("\"__metadata__\":{" + metadata.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}")
  }
  for t in tensors {
    let begin = data.count
    if let raw = t.raw {
      data += raw
    } else {
      for v in t.values {
        switch t.dataType {
        case .f32: withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 }
        case .bf16: withUnsafeBytes(of: UInt16(truncatingIfNeeded: v.bitPattern >> 16).littleEndian) { data += $0 }
        case .f16: withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { data += $0 }
        default: preconditionFailure("safetensors writer: \(t.dataType) needs raw bytes")
        }
      }
    }
    entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dataType.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(data.count)]}")
  }
  var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
  while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
  var file: [UInt8] = []
  withUnsafeBytes(of: UInt64(header.count).littleEndian) { file += $0 }
  return file + header + data
}
