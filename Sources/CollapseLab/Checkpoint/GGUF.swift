import Foundation

/// A GGUF file (llama.cpp's format), memory-mapped and validated: its
/// metadata and tensor directory; tensors are dequantised to Float32 on
/// request (`floats(_:)`).
///
/// Layout (little-endian): magic `GGUF`, version (2 or 3: the same layout,
/// counts in 64 bits), tensor count, metadata count; the metadata key/value
/// pairs (typed scalars, strings as a 64-bit length and UTF-8 bytes, arrays of
/// one type); the tensor infos (name, dimensions with dims[0] the
/// fastest-varying, type, offset); then the data from the next multiple of
/// `general.alignment` (32 when absent), each tensor at its offset from there.
/// Every count, length, offset and size is checked against the file before
/// it is used, so a truncated or corrupt file gives a `CheckpointError`
/// naming the file and what is wrong, never a crash.
public struct GGUFFile: @unchecked Sendable {
  public let path: String
  public let version: UInt32
  public let metadata: [String: GGUFValue]
  /// Tensors in file order.
  public let tensors: [GGUFTensorInfo]
  public let alignment: Int
  private let data: Data
  private let dataStart: Int
  private let tensorIndex: [String: Int]

  public init(path: String) throws(CheckpointError) {
    let url = URL(fileURLWithPath: path)
    let data: Data
    do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
      throw CheckpointError("\(path): cannot read (\(error.localizedDescription))")
    }
    try self.init(data: data, path: path)
  }

  /// Parses `data` (named `path` in errors).
  public init(data: Data, path: String) throws(CheckpointError) {
    self.path = path
    self.data = data
    var reader = GGUFReader(data: data, path: path)
    let magic = try reader.bytes(4)
    guard magic == Array("GGUF".utf8) else {
      throw CheckpointError("\(path): not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()), expected 47475546 'GGUF')")
    }
    version = try reader.integer(UInt32.self)
    guard version == 2 || version == 3 else {
      throw CheckpointError("\(path): GGUF version \(version) is not supported (2 and 3 are)")
    }
    let tensorCount = try reader.count("tensor count", atLeastBytesEach: 24)
    let metadataCount = try reader.count("metadata count", atLeastBytesEach: 12)
    var metadata: [String: GGUFValue] = [:]
    for _ in 0..<metadataCount {
      let key = try reader.string("metadata key")
      let type = try reader.integer(UInt32.self)
      let value = try reader.value(ofType: type, key: key, depth: 0)
      if metadata.updateValue(value, forKey: key) != nil { throw CheckpointError("\(path): metadata key '\(key)' appears twice") }
    }
    self.metadata = metadata
    var alignment = 32
    if let value = metadata["general.alignment"] {
      guard let a = value.integer, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
        throw CheckpointError("\(path): general.alignment must be a power of two, got \(value)")
      }
      alignment = a
    }
    self.alignment = alignment
    var tensors: [GGUFTensorInfo] = []
    var index: [String: Int] = [:]
    for _ in 0..<tensorCount {
      let name = try reader.string("tensor name")
      let dimensionCount = try reader.integer(UInt32.self)
      guard (1...4).contains(dimensionCount) else {
        throw CheckpointError("\(path): tensor '\(name)' has \(dimensionCount) dimensions (1...4 allowed)")
      }
      var dimensions: [Int] = []
      for _ in 0..<dimensionCount {
        let value = try reader.integer(UInt64.self)
        guard value > 0, value < 1 << 40 else { throw CheckpointError("\(path): tensor '\(name)' has dimension \(value)") }
        dimensions.append(Int(value))
      }
      let rawType = try reader.integer(UInt32.self)
      let offset = try reader.integer(UInt64.self)
      guard let type = GGMLType(rawValue: rawType) else {
        throw CheckpointError("\(path): tensor '\(name)' has unknown type \(rawType)")
      }
      let elements = dimensions.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue })
      guard dimensions.reduce(1.0, { $0 * Double($1) }) < 1e15 else { throw CheckpointError("\(path): tensor '\(name)' is too large (\(dimensions))") }
      guard dimensions[0] % type.blockSize == 0 else {
        throw CheckpointError("\(path): tensor '\(name)' of type \(type) has rows of \(dimensions[0]) values, not a multiple of its block size \(type.blockSize)")
      }
      // Compared as UInt64 before any conversion: a fuzzed offset above Int.max trapped in Int(offset).
      guard offset <= UInt64(data.count) else {
        throw CheckpointError("\(path): tensor '\(name)' starts at offset \(offset), past the end of the file (\(data.count) bytes)")
      }
      guard offset % UInt64(alignment) == 0 else {
        throw CheckpointError("\(path): tensor '\(name)' starts at offset \(offset), not a multiple of the alignment \(alignment)")
      }
      let info = GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(offset), byteCount: elements / type.blockSize * type.blockBytes)
      if index.updateValue(tensors.count, forKey: name) != nil { throw CheckpointError("\(path): tensor '\(name)' appears twice") }
      tensors.append(info)
    }
    let start = (reader.position + alignment - 1) / alignment * alignment
    for t in tensors where t.offset > data.count || start + t.offset + t.byteCount > data.count {
      throw CheckpointError("\(path): tensor '\(t.name)' (\(t.byteCount) bytes at \(start + t.offset)) runs past the end of the file (\(data.count) bytes)")
    }
    self.dataStart = start
    self.tensors = tensors
    self.tensorIndex = index
  }

  public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

  /// The tensor's values as Float32, dims[0] fastest (for a weight listed
  /// [in, out]: out rows of in values, nn.Linear's [out, in]). Types without a
  /// dequantiser here are refused, naming the tensor and its type.
  public func floats(_ name: String) throws(CheckpointError) -> [Float] {
    guard let info = tensor(named: name) else { throw CheckpointError("\(path): no tensor '\(name)'") }
    guard info.type.isSupported else {
      throw CheckpointError("\(path): tensor '\(name)' has type \(info.type), which is not supported (supported: \(GGMLType.allCases.filter(\.isSupported).map(\.description).joined(separator: ", ")))")
    }
    let count = info.elementCount
    return data.withUnsafeBytes { raw in
      let source = UnsafeRawBufferPointer(rebasing: raw[(dataStart + info.offset)..<(dataStart + info.offset + info.byteCount)])
      return [Float](unsafeUninitializedCapacity: count) { out, initialized in
        dequantize(info.type, source, into: out.baseAddress!, count: count)
        initialized = count
      }
    }
  }

  /// SHA-256 of the whole file (hex): the run's identity of the checkpoint.
  public var sha256: String { sha256Hex(of: data) }

  /// A metadata string, or nil.
  public func string(_ key: String) -> String? {
    if case .string(let s) = metadata[key] { return s }
    return nil
  }
  /// A metadata integer (any integer type), or nil.
  public func integer(_ key: String) -> Int? { metadata[key]?.integer }
  /// A metadata number (integer or float), or nil.
  public func number(_ key: String) -> Double? { metadata[key]?.number }
}

/// One tensor's directory entry.
public struct GGUFTensorInfo: Sendable, Equatable {
  public var name: String
  /// dims[0] is the fastest-varying (a row's length).
  public var dimensions: [Int]
  public var type: GGMLType
  /// From the start of the data section.
  public var offset: Int
  public var byteCount: Int
  public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A metadata value.
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
  case unsigned(UInt64)
  case signed(Int64)
  case float(Double)
  case bool(Bool)
  case string(String)
  case array([GGUFValue])

  public var integer: Int? {
    switch self {
    case .unsigned(let v): v <= UInt64(Int.max) ? Int(v) : nil
    case .signed(let v): Int(v)
    default: nil
    }
  }
  public var number: Double? {
    switch self {
    case .float(let v): v
    default: integer.map(Double.init)
    }
  }
  public var description: String {
    switch self {
    case .unsigned(let v): "\(v)"
    case .signed(let v): "\(v)"
    case .float(let v): "\(v)"
    case .bool(let v): "\(v)"
    case .string(let s): "\"\(s.count > 60 ? s.prefix(60) + "…" : Substring(s))\""
    case .array(let values): "[\(values.count) values]"
    }
  }
}

/// ggml's tensor types (the numbers stored in GGUF).
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
  case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
  case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
  case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30, tq1_0 = 34, tq2_0 = 35

  /// ggml's name of the type (Q4_K, BF16, …).
  public var description: String {
    switch self {
    case .f32: "F32"
    case .f16: "F16"
    case .q4_0: "Q4_0"
    case .q4_1: "Q4_1"
    case .q5_0: "Q5_0"
    case .q5_1: "Q5_1"
    case .q8_0: "Q8_0"
    case .q8_1: "Q8_1"
    case .q2_K: "Q2_K"
    case .q3_K: "Q3_K"
    case .q4_K: "Q4_K"
    case .q5_K: "Q5_K"
    case .q6_K: "Q6_K"
    case .q8_K: "Q8_K"
    case .iq2_xxs: "IQ2_XXS"
    case .iq2_xs: "IQ2_XS"
    case .iq3_xxs: "IQ3_XXS"
    case .iq1_s: "IQ1_S"
    case .iq4_nl: "IQ4_NL"
    case .iq3_s: "IQ3_S"
    case .iq2_s: "IQ2_S"
    case .iq4_xs: "IQ4_XS"
    case .i8: "I8"
    case .i16: "I16"
    case .i32: "I32"
    case .i64: "I64"
    case .f64: "F64"
    case .iq1_m: "IQ1_M"
    case .bf16: "BF16"
    case .tq1_0: "TQ1_0"
    case .tq2_0: "TQ2_0"
    }
  }

  /// Whether `GGUFFile.floats` dequantises this type.
  public var isSupported: Bool {
    switch self {
    case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: true
    default: false
    }
  }

  /// Values per block.
  public var blockSize: Int {
    switch self {
    case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: 1
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl: 32
    default: 256
    }
  }

  /// Bytes per block (as ggml's type traits).
  public var blockBytes: Int {
    switch self {
    case .f32, .i32: 4
    case .f16, .bf16, .i16: 2
    case .i8: 1
    case .i64, .f64: 8
    case .q4_0: 18
    case .q4_1: 20
    case .q5_0: 22
    case .q5_1: 24
    case .q8_0: 34
    case .q8_1: 36
    case .q2_K: 84
    case .q3_K: 110
    case .q4_K: 144
    case .q5_K: 176
    case .q6_K: 210
    case .q8_K: 292
    case .iq2_xxs: 66
    case .iq2_xs: 74
    case .iq3_xxs: 98
    case .iq1_s: 50
    case .iq4_nl: 18
    case .iq3_s: 110
    case .iq2_s: 82
    case .iq4_xs: 136
    case .iq1_m: 56
    case .tq1_0: 54
    case .tq2_0: 66
    }
  }
}

/// A bounds-checked little-endian cursor over the file's bytes.
struct GGUFReader {
  let data: Data
  let path: String
  var position = 0

  init(data: Data, path: String) {
    self.data = data
    self.path = path
  }

  mutating func bytes(_ count: Int) throws(CheckpointError) -> [UInt8] {
    guard count >= 0, count <= data.count - position else {
      throw CheckpointError("\(path): truncated (needs \(count) bytes at offset \(position), the file has \(data.count))")
    }
    defer { position += count }
    let start = data.startIndex + position
    return [UInt8](data[start..<(start + count)])
  }

  mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> T {
    let raw = try bytes(MemoryLayout<T>.size)
    var value: T = 0
    for (i, byte) in raw.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * i) }
    return value
  }

  /// A 64-bit count that cannot exceed what the rest of the file could hold.
  mutating func count(_ what: String, atLeastBytesEach: Int) throws(CheckpointError) -> Int {
    let value = try integer(UInt64.self)
    guard value <= UInt64(max(0, data.count - position) / atLeastBytesEach) else {
      throw CheckpointError("\(path): \(what) \(value) is impossible in a file of \(data.count) bytes")
    }
    return Int(value)
  }

  mutating func string(_ what: String) throws(CheckpointError) -> String {
    let length = try integer(UInt64.self)
    guard length <= UInt64(data.count - position) else {
      throw CheckpointError("\(path): \(what) of \(length) bytes at offset \(position) runs past the end of the file")
    }
    let raw = try bytes(Int(length))
    guard let text = String(validating: raw, as: UTF8.self) else { throw CheckpointError("\(path): \(what) at offset \(position - raw.count) is not UTF-8") }
    return text
  }

  mutating func value(ofType type: UInt32, key: String, depth: Int) throws(CheckpointError) -> GGUFValue {
    switch type {
    case 0: return .unsigned(UInt64(try integer(UInt8.self)))
    case 1: return .signed(Int64(try integer(Int8.self)))
    case 2: return .unsigned(UInt64(try integer(UInt16.self)))
    case 3: return .signed(Int64(try integer(Int16.self)))
    case 4: return .unsigned(UInt64(try integer(UInt32.self)))
    case 5: return .signed(Int64(try integer(Int32.self)))
    case 6: return .float(Double(Float(bitPattern: try integer(UInt32.self))))
    case 7:
      let byte = try integer(UInt8.self)
      guard byte <= 1 else { throw CheckpointError("\(path): metadata '\(key)': bool byte \(byte)") }
      return .bool(byte == 1)
    case 8: return .string(try string("metadata '\(key)'"))
    case 9:
      guard depth < 2 else { throw CheckpointError("\(path): metadata '\(key)': arrays nested more than twice") }
      let elementType = try integer(UInt32.self)
      let count = try self.count("metadata '\(key)' array length", atLeastBytesEach: elementType == 8 ? 8 : 1)
      var values: [GGUFValue] = []
      values.reserveCapacity(count)
      for _ in 0..<count { values.append(try value(ofType: elementType, key: key, depth: depth + 1)) }
      return .array(values)
    case 10: return .unsigned(try integer(UInt64.self))
    case 11: return .signed(try integer(Int64.self))
    case 12: return .float(Double(bitPattern: try integer(UInt64.self)))
    default: throw CheckpointError("\(path): metadata '\(key)' has unknown value type \(type)")
    }
  }
}
