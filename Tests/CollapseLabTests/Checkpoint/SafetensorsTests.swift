@testable import CollapseLab
import Foundation
import Testing

@Suite("safetensors reader", .temporaryDirectories)
struct SafetensorsTests {
  private func open(_ bytes: [UInt8], _ name: String = "t") throws(CheckpointError) -> SafetensorsFile {
    let url = temporaryDirectory("safetensors-\(name)").appendingPathComponent("model.safetensors")
    try! Data(bytes).write(to: url)
    return try SafetensorsFile(contentsOf: url)
  }

  /// The reference implementation's serialisation test: 96 bytes.
  @Test func knownAnswerFromTheReferenceSerializer() throws {
    let json = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
    #expect(json.utf8.count == 64)
    var bytes: [UInt8] = [0x40, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8)
    for v: Float in [0, 1, 2, 3, 4, 5] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
    #expect(bytes.count == 96)
    let file = try open(bytes)
    #expect(file.tensors["attn.0"]?.shape == [1, 2, 3])
    #expect(try file.floats("attn.0") == [0, 1, 2, 3, 4, 5])
  }

  /// F16 and BF16 convert exactly, subnormals, infinities and NaN included.
  @Test(arguments: [TensorDataType.f16, .bf16])
  func halfPrecisionConvertsExactly(type: TensorDataType) throws {
    // Values the type holds exactly (the writer truncates BF16, rounds F16).
    let smallest: Float = type == .f16 ? 0x1p-24 : 0x1p-133
    let largest: Float = type == .f16 ? 65504 : Float(bitPattern: 0x7F7F_0000)
    let values: [Float] = [0, -0.0, 1, -2.5, largest, smallest, -smallest, .infinity, -.infinity, 0.33203125]
    let file = try open(safetensorsBytes([TensorToWrite(name: "w", dataType: type, shape: [2, 5], values: values)]))
    let read = try file.floats("w")
    #expect(read.map(\.bitPattern) == values.map(\.bitPattern))
    let nan = try open(safetensorsBytes([TensorToWrite(name: "w", dataType: type, shape: [1], values: [.nan])]))
    #expect(try nan.floats("w")[0].isNaN)
  }

  /// F64 weights are rounded to nearest once (as `Float(Double)` does).
  @Test func doublePrecisionRoundsToNearest() throws {
    let values: [Double] = [1.0 / 3, -0.1, 1e-40, 3.5e38, 1e300, 0]
    var raw: [UInt8] = []
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw += $0 } }
    let file = try open(safetensorsBytes([TensorToWrite(name: "w", dataType: .f64, shape: [6], values: [], raw: raw)]))
    #expect(try file.floats("w").map(\.bitPattern) == values.map { Float($0).bitPattern })
  }

  @Test func everyFloat16BitPatternMatchesTheHardwareConversion() {
    for bits in UInt16.min...UInt16.max {
      let expected = Float(Float16(bitPattern: bits)), got = Float(float16Bits: bits)
      #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN), "0x\(String(bits, radix: 16))")
    }
  }

  static func header(_ json: String, buffer: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { bytes += $0 }
    return bytes + Array(json.utf8) + [UInt8](repeating: 0, count: buffer)
  }

  /// Each malformed file is refused with a message naming what is wrong.
  @Test(arguments: [
    ("truncated", [UInt8]([1, 2, 3]), "truncated"),
    ("length beyond file", [UInt8]([0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]), "runs past the end"),
    ("length over limit", [UInt8]([0, 0, 0, 0, 1, 0, 0, 0]), "exceeds the safetensors limit"),
    ("invalid JSON", header("{not json", buffer: 0), "not valid JSON"),
    ("unsupported dtype", header(#"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, buffer: 1), "unsupported dtype F8"),
    ("byte count", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, buffer: 4), "needs 8"),
    ("overlap", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: 8), "overlaps"),
    ("gap", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, buffer: 12), "leaves a gap"),
    ("uncovered buffer", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: 12), "cover 4 bytes but the data buffer holds 12"),
    ("truncated data", header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, buffer: 8), "truncated file"),
    ("negative shape", header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, buffer: 0), "shape must be"),
  ])
  func malformedFilesAreRefused(name: String, bytes: [UInt8], message: String) {
    do {
      _ = try open(bytes, name)
      Issue.record("\(name): accepted")
    } catch {
      #expect(error.description.contains(message), "\(name): \(error.description)")
      #expect(error.description.contains("model.safetensors"), "names the file: \(error.description)")
    }
  }

  @Test func integerBuffersAreListedButNotReadAsWeights() throws {
    let file = try open(safetensorsBytes([TensorToWrite(name: "ids", dataType: .i64, shape: [2], values: [], raw: [UInt8](repeating: 0, count: 16))]))
    #expect(file.tensors["ids"]?.dataType == .i64)
    #expect(throws: CheckpointError.self) { try file.floats("ids") }
  }
}
