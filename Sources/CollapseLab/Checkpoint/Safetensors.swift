import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types of safetensors tensors, with their sizes in bytes.
public enum TensorDataType: String, Sendable, CaseIterable {
  case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
  case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
  case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

  public var byteCount: Int {
    switch self {
    case .f64, .i64, .u64: 8
    case .f32, .i32, .u32: 4
    case .f16, .bf16, .i16, .u16: 2
    case .i8, .u8, .bool: 1
    }
  }

  /// The floating-point types converted to Float32 on reading.
  public var isConvertibleToFloat: Bool { floatEncoding != nil }

  /// How a tensor of this type is read as Float32; nil for integer types.
  var floatEncoding: FloatEncoding? {
    switch self {
    case .f64: .float64
    case .f32: .float32
    case .f16: .float16
    case .bf16: .bfloat16
    case .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8, .bool: nil
    }
  }
}

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Sendable, Equatable {
  public var name: String
  public var dataType: TensorDataType
  public var shape: [Int]
  /// Byte range within the data buffer (after the header), end exclusive.
  public var byteRange: Range<Int>
  public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file (format of huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the tensors' bytes, row-major and little-endian.
///
/// Opening validates the header as the reference parser does: N at most
/// 100,000,000 and within the file; every entry has a known dtype, a shape
/// of non-negative integers and offsets whose length is the element count
/// times the dtype's size; the entries sorted by offset are contiguous from 0
/// and cover the data buffer exactly. Reading a tensor converts F32, F16 and
/// BF16 to Float32; other dtypes (the I64 `position_ids` buffer) are listed
/// but not read. The mapping is read-only and shared by all threads.
public final class SafetensorsFile: @unchecked Sendable {
  public static let maximumHeaderLength = 100_000_000

  public let url: URL
  /// Tensors by name.
  public let tensors: [String: TensorInfo]
  /// The header's `__metadata__` (string to string).
  public let metadata: [String: String]
  private let mapping: UnsafeRawPointer?
  private let fileLength: Int
  private let dataStart: Int

  /// Maps and validates `url`; every failure names the file and the values.
  public init(contentsOf url: URL) throws(CheckpointError) {
    self.url = url
    let path = url.path
    let descriptor = open(path, O_RDONLY)
    if descriptor < 0 { throw CheckpointError("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(descriptor) }
    var status = stat()
    if fstat(descriptor, &status) != 0 { throw CheckpointError("\(path): cannot stat (\(String(cString: strerror(errno))))") }
    let length = Int(status.st_size)
    fileLength = length
    if length < 8 {
      throw CheckpointError("\(path): truncated safetensors file (\(length) bytes; the 8-byte header length alone needs 8)")
    }
    guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
      throw CheckpointError("\(path): cannot map \(length) bytes (\(String(cString: strerror(errno))))")
    }
    let raw = UnsafeRawPointer(base)
    mapping = raw
    do throws(CheckpointError) {
      let headerLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
      if headerLength > UInt64(Self.maximumHeaderLength) {
        throw CheckpointError("\(path): header length \(headerLength) exceeds the safetensors limit of \(Self.maximumHeaderLength) bytes")
      }
      if 8 + Int(headerLength) > length {
        throw CheckpointError("\(path): header length \(headerLength) runs past the end of the file (\(length) bytes): truncated or not a safetensors file")
      }
      dataStart = 8 + Int(headerLength)
      let headerBytes = UnsafeRawBufferPointer(start: raw + 8, count: Int(headerLength))
      (tensors, metadata) = try Self.parseHeader(Data(headerBytes), bufferLength: length - dataStart, path: path)
    } catch {
      munmap(base, length)
      throw error
    }
  }

  deinit {
    if let mapping { munmap(UnsafeMutableRawPointer(mutating: mapping), fileLength) }
  }

  /// The file offset of the data buffer (tensor `byteRange`s count from it).
  public var dataOffset: Int { dataStart }

  /// The whole file's bytes (for hashing).
  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mapping, count: fileLength) }

  /// The tensor's elements as Float32, row-major.
  public func floats(_ name: String) throws(CheckpointError) -> [Float] {
    guard let info = tensors[name] else { throw CheckpointError("\(url.path): no tensor '\(name)'") }
    return try floats(info)
  }

  public func floats(_ info: TensorInfo) throws(CheckpointError) -> [Float] {
    guard let encoding = info.dataType.floatEncoding else {
      throw CheckpointError("\(url.path): tensor '\(info.name)' has dtype \(info.dataType.rawValue); only F64, F32, F16 and BF16 weights are supported")
    }
    let count = info.elementCount
    let source = mapping! + dataStart + info.byteRange.lowerBound
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      convertToFloat(UnsafeRawPointer(source), encoding: encoding, count: count, into: buffer.baseAddress!)
      initialized = count
    }
  }

  private static func parseHeader(_ data: Data, bufferLength: Int, path: String) throws(CheckpointError) -> ([String: TensorInfo], [String: String]) {
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: data) } catch {
      throw CheckpointError("\(path): the header is not valid JSON (\(data.count) bytes)")
    }
    guard let entries = object as? [String: Any] else { throw CheckpointError("\(path): the header is not a JSON object") }
    var tensors: [String: TensorInfo] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in entries {
      if name == "__metadata__" {
        guard let fields = value as? [String: Any], fields.values.allSatisfy({ $0 is String }) else {
          throw CheckpointError("\(path): __metadata__ must map strings to strings")
        }
        metadata = fields.mapValues { $0 as! String }
        continue
      }
      guard let entry = value as? [String: Any] else { throw CheckpointError("\(path): tensor '\(name)': entry is not an object") }
      guard let typeName = entry["dtype"] as? String, let dataType = TensorDataType(rawValue: typeName) else {
        let supported = TensorDataType.allCases.map(\.rawValue).joined(separator: ", ")
        throw CheckpointError("\(path): tensor '\(name)': unsupported dtype \(entry["dtype"].map { "\($0)" } ?? "(missing)") (known: \(supported))")
      }
      guard let shapeValues = entry["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
        throw CheckpointError("\(path): tensor '\(name)': shape must be a list of non-negative integers, got \(entry["shape"].map { "\($0)" } ?? "(missing)")")
      }
      guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2,
        offsets[0] >= 0, offsets[0] <= offsets[1]
      else {
        throw CheckpointError("\(path): tensor '\(name)': data_offsets must be [begin, end] with 0 <= begin <= end, got \(entry["data_offsets"].map { "\($0)" } ?? "(missing)")")
      }
      var count = 1
      for extent in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: extent)
        if overflow { throw CheckpointError("\(path): tensor '\(name)': shape \(shape) overflows") }
        count = product
      }
      let (bytes, overflow) = count.multipliedReportingOverflow(by: dataType.byteCount)
      if overflow || bytes != offsets[1] - offsets[0] {
        throw CheckpointError("\(path): tensor '\(name)': \(offsets[1] - offsets[0]) bytes at data_offsets \(offsets), but shape \(shape) of \(typeName) needs \(overflow ? "more than Int.max" : String(bytes))")
      }
      tensors[name] = TensorInfo(name: name, dataType: dataType, shape: shape, byteRange: offsets[0]..<offsets[1])
    }
    var position = 0
    for info in tensors.values.sorted(by: { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }) {
      if info.byteRange.lowerBound != position {
        let what = info.byteRange.lowerBound < position ? "overlaps the tensor before it" : "leaves a gap after byte \(position)"
        throw CheckpointError("\(path): tensor '\(info.name)' at data_offsets [\(info.byteRange.lowerBound), \(info.byteRange.upperBound)] \(what)")
      }
      position = info.byteRange.upperBound
    }
    if position != bufferLength {
      throw CheckpointError("\(path): the tensors cover \(position) bytes but the data buffer holds \(bufferLength)\(position > bufferLength ? " (truncated file)" : "")")
    }
    return (tensors, metadata)
  }

  private static func integers(_ values: [Any]) -> [Int]? {
    var result: [Int] = []
    for value in values {
      // JSONSerialization gives NSNumber; refuse fractions (exact below 2⁵³, far beyond any file).
      guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue) else { return nil }
      result.append(integer)
    }
    return result
  }
}
