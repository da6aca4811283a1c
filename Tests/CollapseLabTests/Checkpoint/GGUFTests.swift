@testable import CollapseLab
import Foundation
import Testing

/// Builds GGUF files byte by byte (little-endian), so each field can be made wrong on purpose.
struct GGUFBuilder {
  var bytes: [UInt8] = []
  mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
  mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

  /// A version-3 file: metadata (architecture, an int array, a float, a bool), then a
  /// 2 × 32 F32 tensor "a" at offset 0 and a 32-value tensor "q" of type `qType`
  /// (Q8_0: scale 0.5, q = j − 16) at `qOffset`.
  static func sample(
    magic: String = "GGUF", version: UInt32 = 3, qOffset: UInt64 = 256, qType: UInt32 = 8, alignment: UInt32? = nil
  ) -> [UInt8] {
    var b = GGUFBuilder()
    b.bytes += Array(magic.utf8)
    b.u32(version)
    b.u64(2)  // tensors
    b.u64(alignment == nil ? 4 : 5)  // metadata
    b.string("general.architecture"); b.u32(8); b.string("llama")
    b.string("test.ints"); b.u32(9); b.u32(4); b.u64(3); b.u32(7); b.u32(8); b.u32(9)
    b.string("test.float"); b.u32(6); b.u32(Float(1.5).bitPattern)
    b.string("test.flag"); b.u32(7); b.bytes.append(1)
    if let alignment { b.string("general.alignment"); b.u32(4); b.u32(alignment) }
    b.string("a"); b.u32(2); b.u64(32); b.u64(2); b.u32(0); b.u64(0)
    b.string("q"); b.u32(1); b.u64(32); b.u32(qType); b.u64(qOffset)
    b.pad(to: 32)
    for i in 0..<64 { b.u32((Float(i) * 0.25 - 3).bitPattern) }
    b.bytes += [0x00, 0x38]  // f16 0.5
    for j in 0..<32 { b.bytes.append(UInt8(bitPattern: Int8(j - 16))) }
    return b.bytes
  }
}

@Suite("GGUF reader")
struct GGUFTests {
  @Test func readsMetadataTensorsAndValues() throws {
    let file = try GGUFFile(data: Data(GGUFBuilder.sample()), path: "t.gguf")
    #expect(file.version == 3 && file.alignment == 32)
    #expect(file.string("general.architecture") == "llama")
    #expect(file.metadata["test.ints"] == .array([.unsigned(7), .unsigned(8), .unsigned(9)]))
    #expect(file.number("test.float") == 1.5 && file.metadata["test.flag"] == .bool(true))
    #expect(file.tensor(named: "a")?.dimensions == [32, 2])
    #expect(try file.floats("a") == (0..<64).map { Float($0) * 0.25 - 3 })
    #expect(try file.floats("q") == (0..<32).map { 0.5 * Float($0 - 16) })
  }

  @Test(arguments: [
    (GGUFBuilder.sample(magic: "GGUX"), "not a GGUF file"),
    (GGUFBuilder.sample(version: 1), "version 1 is not supported"),
    (Array(GGUFBuilder.sample().prefix(100)), "truncated"), (Array(GGUFBuilder.sample().prefix(40)), "impossible in a file of 40 bytes"),
    (GGUFBuilder.sample(qOffset: 100), "not a multiple of the alignment"),
    (GGUFBuilder.sample(qOffset: 1 << 20), "starts at offset 1048576, past the end of the file"),
    (GGUFBuilder.sample(qOffset: 288), "runs past the end of the file"),
    // Found by the gguf fuzz target: an offset above Int.max trapped converting to Int.
    (GGUFBuilder.sample(qOffset: 0xFFFF_FFFF_FFFF_FFE0), "past the end of the file"),
    (GGUFBuilder.sample(alignment: 24), "general.alignment must be a power of two"),
  ])
  func refusesBrokenFiles(bytes: [UInt8], message: String) {
    #expect { try GGUFFile(data: Data(bytes), path: "t.gguf") } throws: {
      ($0 as? CheckpointError)?.description.contains(message) == true
    }
  }

  @Test(arguments: [(UInt32(10), "not a multiple of its block size 256"), (99, "unknown type 99")])
  func refusesTypesThatCannotHoldTheTensor(type: UInt32, message: String) {
    #expect { try GGUFFile(data: Data(GGUFBuilder.sample(qType: type)), path: "t.gguf") } throws: {
      ($0 as? CheckpointError)?.description.contains(message) == true
    }
  }

  @Test func kQuantScalesUnpackAsGGML() {
    // Scales 0–3 = 1…4, 4–7 = 61…64 (6 bits: low 4 in bytes 8–11, top 2 in bytes 0–3); mins likewise + 5.
    var packed = [UInt8](repeating: 0, count: 12)
    let scales: [UInt8] = [1, 2, 3, 4, 61, 62, 63, 60], mins: [UInt8] = [6, 7, 8, 9, 33, 34, 35, 36]
    for i in 0..<4 {
      packed[i] = scales[i] | ((scales[4 + i] >> 4) << 6)
      packed[4 + i] = mins[i] | ((mins[4 + i] >> 4) << 6)
      packed[8 + i] = (scales[4 + i] & 0x0F) | ((mins[4 + i] & 0x0F) << 4)
    }
    let (s, m) = packed.withUnsafeBufferPointer { kQuantScalesAndMins($0.baseAddress!) }
    #expect(s == scales && m == mins)
  }

  /// llama.cpp's converter moves row s·w/2 + i of each head to row 2i + s; unpermuting restores it.
  @Test func rotaryRowsAreRestored() {
    let heads = 2, w = 4, columns = 3
    let original = (0..<(heads * w * columns)).map(Float.init)
    var permuted = original
    for h in 0..<heads { for i in 0..<(w / 2) { for s in 0..<2 { for j in 0..<columns {
      permuted[(h * w + 2 * i + s) * columns + j] = original[(h * w + s * (w / 2) + i) * columns + j]
    } } } }
    #expect(unpermutingRotaryRows(permuted, heads: heads, headWidth: w, columns: columns) == original)
  }
}
