@testable import CollapseLab
import Foundation
import RankKernels
import Testing

/// Writers for the layouts `measure` reads, written here from the format
/// specifications (NEP 1 for .npy, PKWARE's APPNOTE for the ZIP of .npz).
enum HiddenStateWriters {
  /// A .npy file of `type` ("<f2", "<f4", "<f8", "<i8", "|u1") holding `values` (rounded to the type).
  static func npy(_ values: [Double], shape: [Int], type: String, fortran: Bool = false, version: UInt8 = 1) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = Array("{'descr': '\(type)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }".utf8)
    let preamble = version == 1 ? 10 : 12
    while (preamble + header.count + 1) % 64 != 0 { header.append(UInt8(ascii: " ")) }
    header.append(UInt8(ascii: "\n"))
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    if version == 1 {
      bytes += [UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
    } else {
      bytes += (0..<4).map { UInt8((header.count >> (8 * $0)) & 0xFF) }
    }
    bytes += header
    for value in values {
      switch type {
      case "<f2": withUnsafeBytes(of: Float16(Float(value)).bitPattern.littleEndian) { bytes += $0 }
      case "<f4": withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes += $0 }
      case "<f8": withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
      case "<i8": withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 }
      case "|u1": bytes.append(UInt8(value))
      default: preconditionFailure("writer: \(type)")
      }
    }
    return bytes
  }

  /// A ZIP of stored members (what `np.savez` writes), optionally with ZIP64
  /// directory records as numpy forces for large members. CRCs are left 0:
  /// the reader does not check them.
  static func zip(_ members: [(name: String, bytes: [UInt8])], zip64: Bool = false, method: UInt16 = 0) -> [UInt8] {
    func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    var file: [UInt8] = []
    var directory: [UInt8] = []
    for member in members {
      let offset = file.count
      let name = Array(member.name.utf8)
      file += le(UInt32(0x0403_4b50)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt32(0)) + le(UInt32(0))
      file += le(UInt32(member.bytes.count)) + le(UInt32(member.bytes.count)) + le(UInt16(name.count)) + le(UInt16(0)) + name
      file += member.bytes
      let extra: [UInt8] = zip64 ? le(UInt16(1)) + le(UInt16(24)) + le(UInt64(member.bytes.count)) + le(UInt64(member.bytes.count)) + le(UInt64(offset)) : []
      let small: (UInt32, UInt32) = zip64 ? (0xFFFF_FFFF, 0xFFFF_FFFF) : (UInt32(member.bytes.count), UInt32(offset))
      directory += le(UInt32(0x0201_4b50)) + le(UInt16(45)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt32(0)) + le(UInt32(0))
      directory += le(small.0) + le(small.0) + le(UInt16(name.count)) + le(UInt16(extra.count)) + le(UInt16(0)) + le(UInt16(0))
      directory += le(UInt16(0)) + le(UInt32(0)) + le(small.1) + name + extra
    }
    let directoryOffset = file.count
    file += directory
    if zip64 {
      let recordOffset = file.count
      file += le(UInt32(0x0606_4b50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
      file += le(UInt64(members.count)) + le(UInt64(members.count)) + le(UInt64(directory.count)) + le(UInt64(directoryOffset))
      file += le(UInt32(0x0706_4b50)) + le(UInt32(0)) + le(UInt64(recordOffset)) + le(UInt32(1))
      file += le(UInt32(0x0605_4b50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0xFFFF)) + le(UInt16(0xFFFF))
      file += le(UInt32(0xFFFF_FFFF)) + le(UInt32(0xFFFF_FFFF)) + le(UInt16(0))
    } else {
      file += le(UInt32(0x0605_4b50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(members.count)) + le(UInt16(members.count))
      file += le(UInt32(directory.count)) + le(UInt32(directoryOffset)) + le(UInt16(0))
    }
    return file
  }

  /// Raw little-endian bytes of Float64 values (safetensors F64).
  static func float64Bytes(_ values: [Double]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
  }

  static func int64Bytes(_ values: [Int]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) } }
  }
}

/// States [L+1][S][n][d] of Gaussian entries with structure (a collapsed
/// state, a low-rank one), deterministic.
struct SyntheticStates {
  let states = 4, sequences = 11, tokens = 7, width = 9
  let values: [Double]

  init() {
    var floats = [Float](repeating: 0, count: 4 * 11 * 7 * 9)
    floats.withUnsafeMutableBufferPointer { RandomStream(seed: 5).fillNormal($0.baseAddress!, count: $0.count) }
    var values = floats.map(Double.init)
    // State 2: every token equal to the sequence's first (rank 1, affine rank 0).
    for s in 0..<11 { for t in 1..<7 { for j in 0..<9 { values[((2 * 11 + s) * 7 + t) * 9 + j] = values[((2 * 11 + s) * 7) * 9 + j] } } }
    // State 3: the last 6 columns zero (rank 3).
    for s in 0..<11 { for t in 0..<7 { for j in 3..<9 { values[((3 * 11 + s) * 7 + t) * 9 + j] = 0 } } }
    self.values = values
  }

  var count: Int { sequences * tokens * width }
  func state(_ l: Int) -> [Double] { Array(values[(l * count)..<((l + 1) * count)]) }
  var shape: [Int] { [states, sequences, tokens, width] }
}

@Suite("Saved hidden states: every layout and dtype reads as written", .temporaryDirectories)
struct HiddenStateFileTests {
  let synthetic = SyntheticStates()

  private func write(_ bytes: [UInt8], _ name: String) -> String {
    let url = temporaryDirectory("hidden-states").appendingPathComponent(name)
    try! Data(bytes).write(to: url)
    return url.path
  }

  /// Every state of every sequence, as `measure` reads it.
  private func readAll(_ file: HiddenStateFile) throws -> [Float] {
    var all: [Float] = []
    var buffer = [Float](repeating: 0, count: file.tokens * file.width)
    var scratch: [UInt8] = []
    for l in 0..<file.stateCount {
      for s in 0..<file.sequences {
        let rows = try buffer.withUnsafeMutableBufferPointer { try file.readState(l, sequence: s, into: $0.baseAddress!, scratch: &scratch) }
        all += buffer[0..<(rows * file.width)]
      }
    }
    return all
  }

  private func rounded(_ type: String) -> [Float] {
    synthetic.values.map { type == "<f2" ? Float(Float16(Float($0))) : Float($0) }
  }

  @Test(arguments: ["<f2", "<f4", "<f8"])
  func npyOfEveryFloatType(type: String) throws {
    for version: UInt8 in [1, 2] {
      let path = write(HiddenStateWriters.npy(synthetic.values, shape: synthetic.shape, type: type, version: version), "states.npy")
      let file = try HiddenStateFile(path: path)
      #expect(file.format == .npy && file.layout == "stacked" && file.stateCount == 4)
      #expect((file.sequences, file.tokens, file.width) == (11, 7, 9))
      #expect(try readAll(file) == rounded(type))
    }
  }

  @Test(arguments: [TensorDataType.f16, .bf16, .f32, .f64])
  func safetensorsPerLayerAndStacked(type: TensorDataType) throws {
    func tensor(_ name: String, _ values: [Double], _ shape: [Int]) -> TensorToWrite {
      type == .f64
        ? TensorToWrite(name: name, dataType: .f64, shape: shape, values: [], raw: HiddenStateWriters.float64Bytes(values))
        : TensorToWrite(name: name, dataType: type, shape: shape, values: values.map(Float.init))
    }
    let perLayer = (0..<4).map { tensor("hidden_states.\($0)", synthetic.state($0), [11, 7, 9]) }
    let stacked = [tensor("hidden_states", synthetic.values, synthetic.shape)]
    // What the writer stores, read back through the checkpoint reader (F64: the Float32 rounding).
    let expected: [Float] = synthetic.values.map { value in
      switch type {
      case .f16: Float(Float16(Float(value)))
      case .bf16: Float(bitPattern: Float(value).bitPattern & 0xFFFF_0000)
      default: Float(value)
      }
    }
    for (tensors, layout) in [(perLayer, "per-layer"), (stacked, "stacked")] {
      let file = try HiddenStateFile(path: write(safetensorsBytes(tensors, metadata: ["model": "toy"]), "states.safetensors"))
      #expect(file.layout == layout && file.elementType.rawValue == type.rawValue && file.metadata["model"] == "toy")
      #expect(try readAll(file) == expected)
    }
  }

  @Test(arguments: [false, true])
  func npzNamedPositionalAndStacked(zip64: Bool) throws {
    let named = (0..<4).map { (name: "hidden_states.\($0).npy", bytes: HiddenStateWriters.npy(synthetic.state($0), shape: [11, 7, 9], type: "<f4")) }
    let positional = (0..<4).map { (name: "arr_\($0).npy", bytes: HiddenStateWriters.npy(synthetic.state($0), shape: [11, 7, 9], type: "<f4")) }
    let stacked = [(name: "hidden_states.npy", bytes: HiddenStateWriters.npy(synthetic.values, shape: synthetic.shape, type: "<f4"))]
    for members in [named, positional, stacked] {
      let file = try HiddenStateFile(path: write(HiddenStateWriters.zip(members, zip64: zip64), "states.npz"))
      #expect(file.format == .npz && file.stateCount == 4)
      #expect(try readAll(file) == rounded("<f4"))
    }
  }

  /// Lengths and masks keep the chosen rows, in order, at the top of the buffer.
  @Test func lengthsAndMasksSelectRows() throws {
    let lengths = (0..<11).map { 2 + $0 % 6 }
    var mask = [Double](repeating: 0, count: 11 * 7)
    for s in 0..<11 { for t in 0..<7 where (t + s) % 3 != 0 { mask[s * 7 + t] = 1 } }
    let members = (0..<4).map { (name: "hidden_states.\($0).npy", bytes: HiddenStateWriters.npy(synthetic.state($0), shape: [11, 7, 9], type: "<f4")) }
    let withLengths = try HiddenStateFile(
      path: write(HiddenStateWriters.zip(members + [(name: "lengths.npy", bytes: HiddenStateWriters.npy(lengths.map(Double.init), shape: [11], type: "<i8"))]), "l.npz"))
    let withMask = try HiddenStateFile(
      path: write(HiddenStateWriters.zip(members + [(name: "attention_mask.npy", bytes: HiddenStateWriters.npy(mask, shape: [11, 7], type: "|u1"))]), "m.npz"))
    #expect(withLengths.rowSelection == "lengths" && withMask.rowSelection == "attention_mask")
    var buffer = [Float](repeating: 0, count: 7 * 9)
    var scratch: [UInt8] = []
    for s in 0..<11 {
      for (file, rows) in [(withLengths, Array(0..<lengths[s])), (withMask, (0..<7).filter { (($0 + s) % 3) != 0 })] {
        let kept = try buffer.withUnsafeMutableBufferPointer { try file.readState(1, sequence: s, into: $0.baseAddress!, scratch: &scratch) }
        #expect(kept == rows.count)
        let expected = rows.flatMap { t in (0..<9).map { Float(synthetic.values[((11 + s) * 7 + t) * 9 + $0]) } }
        #expect(Array(buffer[0..<(kept * 9)]) == expected)
      }
    }
  }

  /// Bad files: one line naming the file and the values.
  @Test(arguments: [
    ("fortran", "Fortran order"), ("big-endian", "big-endian"), ("object", "object dtype"), ("bfloat16-npy", "not self-describing"),
    ("truncated", "truncated"), ("one-state", "at least two"), ("ragged", "has shape [11, 7, 8] but"), ("long-lengths", "lengths[0] = 8, outside 1...7"),
    ("zero-mask-row", "attention_mask row 0 keeps no token"), ("mask-value", "a mask holds 0 and 1"), ("gap", "state 2 missing"),
    ("stray", "unexpected array 'logits'"), ("deflated", "np.savez_compressed"), ("one-token", "n = 1 tokens"), ("not-npy", "no \\x93NUMPY magic"),
    ("lengths-and-mask", "both 'lengths' and 'attention_mask'"),
  ])
  func badFilesAreRefused(problem: String, message: String) throws {
    let w = HiddenStateWriters.self
    func states(_ count: Int = 4) -> [(name: String, bytes: [UInt8])] {
      (0..<count).map { (name: "hidden_states.\($0).npy", bytes: w.npy(synthetic.state($0), shape: [11, 7, 9], type: "<f4")) }
    }
    let bytes: [UInt8], name: String
    switch problem {
    case "fortran": (bytes, name) = (w.npy(synthetic.values, shape: synthetic.shape, type: "<f4", fortran: true), "a.npy")
    case "big-endian":
      var b = w.npy(synthetic.values, shape: synthetic.shape, type: "<f4")
      b[b.firstIndex(of: UInt8(ascii: "<"))!] = UInt8(ascii: ">")
      (bytes, name) = (b, "a.npy")
    case "object": (bytes, name) = (w.npy([], shape: [0], type: "|O"), "a.npy")
    case "bfloat16-npy":
      (bytes, name) = (w.npy(synthetic.values, shape: synthetic.shape, type: "<f2").replacing(Array("<f2".utf8), with: Array("<V2".utf8)), "a.npy")
    case "truncated": (bytes, name) = (Array(w.npy(synthetic.values, shape: synthetic.shape, type: "<f4").dropLast(3)), "a.npy")
    case "one-state": (bytes, name) = (w.npy(synthetic.state(0), shape: [1, 11, 7, 9], type: "<f4"), "a.npy")
    case "ragged":
      var members = states()
      members[2].bytes = w.npy(Array(synthetic.state(2).prefix(11 * 7 * 8)), shape: [11, 7, 8], type: "<f4")
      (bytes, name) = (w.zip(members), "a.npz")
    case "long-lengths": (bytes, name) = (w.zip(states() + [("lengths.npy", w.npy([Double](repeating: 8, count: 11), shape: [11], type: "<i8"))]), "a.npz")
    case "zero-mask-row":
      var mask = [Double](repeating: 1, count: 77)
      for t in 0..<7 { mask[t] = 0 }
      (bytes, name) = (w.zip(states() + [("attention_mask.npy", w.npy(mask, shape: [11, 7], type: "|u1"))]), "a.npz")
    case "mask-value": (bytes, name) = (w.zip(states() + [("attention_mask.npy", w.npy([Double](repeating: 2, count: 77), shape: [11, 7], type: "|u1"))]), "a.npz")
    case "gap": (bytes, name) = (w.zip(states().enumerated().filter { $0.offset != 2 }.map(\.element)), "a.npz")
    case "stray": (bytes, name) = (w.zip(states() + [("logits.npy", w.npy([1, 2], shape: [2], type: "<f4"))]), "a.npz")
    case "deflated": (bytes, name) = (w.zip(states(), method: 8), "a.npz")
    case "one-token": (bytes, name) = (w.npy(Array(synthetic.values.prefix(4 * 11 * 9)), shape: [4, 11, 1, 9], type: "<f4"), "a.npy")
    case "not-npy": (bytes, name) = (Array("hello, world".utf8), "a.npy")
    case "lengths-and-mask":
      (bytes, name) = (w.zip(states() + [("lengths.npy", w.npy([Double](repeating: 3, count: 11), shape: [11], type: "<i8")),
                                         ("attention_mask.npy", w.npy([Double](repeating: 1, count: 77), shape: [11, 7], type: "|u1"))]), "a.npz")
    default: preconditionFailure(problem)
    }
    let path = write(bytes, name)
    do {
      _ = try HiddenStateFile(path: path)
      Issue.record("accepted \(problem)")
    } catch {
      #expect(error.description.contains(message), "\(problem): \(error.description)")
      #expect(error.description.contains(path), "\(problem): names the file")
      #expect(!error.description.contains("\n"))
    }
  }

  @Test func filesThatDisagreeAreNamedTogether() throws {
    let a = write(HiddenStateWriters.npy(synthetic.values, shape: synthetic.shape, type: "<f4"), "a.npy")
    let b = write(HiddenStateWriters.npy(Array(synthetic.values.prefix(3 * synthetic.count)), shape: [3, 11, 7, 9], type: "<f4"), "b.npy")
    #expect(throws: CheckpointError.self) { try HiddenStateDataset(paths: [a, b]) }
    do { _ = try HiddenStateDataset(paths: [a, b]) } catch {
      #expect(error.description.contains(a) && error.description.contains(b) && error.description.contains("3 states"))
    }
  }
}

extension Array where Element == UInt8 {
  /// The bytes with the first occurrence of `pattern` replaced.
  func replacing(_ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
    guard pattern.count <= count, let start = (0...(count - pattern.count)).first(where: { Array(self[$0..<($0 + pattern.count)]) == pattern }) else { return self }
    return Array(self[..<start]) + replacement + Array(self[(start + pattern.count)...])
  }
}
