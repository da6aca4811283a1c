import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types of saved hidden states and their side arrays.
public enum StoredElementType: String, Sendable, Codable, CaseIterable {
  case float16 = "F16", bfloat16 = "BF16", float32 = "F32", float64 = "F64"
  case int64 = "I64", int32 = "I32", uint8 = "U8", bool = "BOOL"

  public var byteCount: Int {
    switch self {
    case .float64, .int64: 8
    case .float32, .int32: 4
    case .float16, .bfloat16: 2
    case .uint8, .bool: 1
    }
  }

  /// The types a hidden state may have (converted to Float32 on reading;
  /// Float64 rounded once, as the engines' activations are Float32).
  public var isFloatingPoint: Bool { floatEncoding != nil }

  /// How an element of this type is read as Float32; nil for integer types.
  var floatEncoding: FloatEncoding? {
    switch self {
    case .float16: .float16
    case .bfloat16: .bfloat16
    case .float32: .float32
    case .float64: .float64
    case .int64, .int32, .uint8, .bool: nil
    }
  }

  /// The types of `lengths` and attention masks.
  public var isInteger: Bool { !isFloatingPoint }
}

/// One array inside a file: its element type, row-major shape and where its
/// bytes start. Nothing is read until asked for: readers copy the slices
/// they need with `pread`, so memory stays bounded by the slice, not the
/// file (a memory mapping would leave every page it touched resident).
public struct StoredArray: Sendable, Equatable {
  /// The array's name in its file (`hidden_states.3`, `arr_0`, …), for messages.
  public var name: String
  public var elementType: StoredElementType
  public var shape: [Int]
  /// Byte offset of element 0 in the file.
  public var offset: Int

  public init(name: String, elementType: StoredElementType, shape: [Int], offset: Int) {
    self.name = name
    self.elementType = elementType
    self.shape = shape
    self.offset = offset
  }

  /// Elements, or nil when the product overflows Int.
  public var elementCount: Int? {
    var count = 1
    for extent in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: extent)
      if overflow { return nil }
      count = product
    }
    return count
  }

  /// Bytes, or nil when they overflow Int.
  public var byteCount: Int? {
    guard let count = elementCount else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementType.byteCount)
    return overflow ? nil : bytes
  }

  public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

/// A file opened for positioned reads (`pread`), shared by the threads that
/// measure its sequences. Closed when released.
public final class ReadOnlyFile: @unchecked Sendable {
  public let path: String
  public let length: Int
  private let descriptor: Int32

  public init(path: String) throws(CheckpointError) {
    self.path = path
    let descriptor = open(path, O_RDONLY)
    if descriptor < 0 { throw CheckpointError("\(path): cannot open (\(String(cString: strerror(errno))))") }
    var status = stat()
    if fstat(descriptor, &status) != 0 {
      let reason = String(cString: strerror(errno))
      close(descriptor)
      throw CheckpointError("\(path): cannot stat (\(reason))")
    }
    if (status.st_mode & S_IFMT) == S_IFDIR {
      close(descriptor)
      throw CheckpointError("\(path): is a directory, not a file")
    }
    self.descriptor = descriptor
    self.length = Int(status.st_size)
  }

  deinit { close(descriptor) }

  /// Reads exactly `count` bytes at `offset` into `buffer`.
  public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(CheckpointError) {
    var done = 0
    while done < count {
      let got = pread(descriptor, buffer + done, count - done, off_t(offset + done))
      if got < 0 {
        if errno == EINTR { continue }
        throw CheckpointError("\(path): read of \(count) bytes at offset \(offset) failed (\(String(cString: strerror(errno))))")
      }
      if got == 0 {
        throw CheckpointError("\(path): ends at byte \(offset + done), inside data expected up to byte \(offset + count): truncated")
      }
      done += got
    }
  }

  /// `count` bytes at `offset` as Data (headers, small side arrays).
  public func bytes(at offset: Int, count: Int) throws(CheckpointError) -> Data {
    var data = Data(count: count)
    if count == 0 { return data }
    var failure: CheckpointError?
    data.withUnsafeMutableBytes { raw in
      do throws(CheckpointError) { try read(into: raw.baseAddress!, count: count, at: offset) } catch { failure = error }
    }
    if let failure { throw failure }
    return data
  }
}

extension StoredArray {
  /// Reads `count` elements starting at element `first` into `output` as
  /// Float32 (little-endian storage; Float64 rounded to nearest). `scratch`
  /// holds the raw bytes of non-Float32 types (resized as needed).
  func readFloats(
    from file: ReadOnlyFile, first: Int, count: Int, into output: UnsafeMutablePointer<Float>, scratch: inout [UInt8]
  ) throws(CheckpointError) {
    guard let encoding = elementType.floatEncoding else { preconditionFailure("readFloats: '\(name)' holds \(elementType.rawValue)") }
    let size = elementType.byteCount
    let start = offset + first * size
    if encoding == .float32 {
      try file.read(into: output, count: count * 4, at: start)
      return
    }
    if scratch.count < count * size { scratch = [UInt8](repeating: 0, count: count * size) }
    var failure: CheckpointError?
    scratch.withUnsafeMutableBytes { raw in
      do throws(CheckpointError) { try file.read(into: raw.baseAddress!, count: count * size, at: start) } catch {
        failure = error
        return
      }
      convertToFloat(UnsafeRawPointer(raw.baseAddress!), encoding: encoding, count: count, into: output)
    }
    if let failure { throw failure }
  }

  /// Every element as Int (lengths and masks: small side arrays).
  func readIntegers(from file: ReadOnlyFile) throws(CheckpointError) -> [Int] {
    precondition(elementType.isInteger)
    guard let count = elementCount, let bytes = byteCount else { throw CheckpointError("\(file.path): '\(name)' is too large") }
    let data = try file.bytes(at: offset, count: bytes)
    return data.withUnsafeBytes { raw in
      (0..<count).map { i -> Int in
        switch elementType {
        case .int64: Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .int32: Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .uint8, .bool: Int(raw[i])
        case .float16, .bfloat16, .float32, .float64: preconditionFailure("readIntegers: '\(name)' is floating point")
        }
      }
    }
  }
}
