import Foundation

/// The floating-point encodings that checkpoints and saved states store
/// (little-endian), all read as Float32.
enum FloatEncoding {
  case float16, bfloat16, float32, float64
}

/// Converts `count` little-endian elements of `encoding` at `source` (any
/// alignment) to Float32 in `output`: F16 and BF16 exactly, F64 rounded to
/// nearest (the engines' activations are Float32). Little-endian hosts only
/// (x86-64, arm64), as the F32 path copies the bytes.
func convertToFloat(_ source: UnsafeRawPointer, encoding: FloatEncoding, count: Int, into output: UnsafeMutablePointer<Float>) {
  guard count > 0 else { return }
  switch encoding {
  case .float32:
    memcpy(output, source, count * 4)
  case .float16:
    for i in 0..<count { output[i] = Float(float16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
  case .bfloat16:
    // BF16 is the high half of a binary32.
    for i in 0..<count { output[i] = Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
  case .float64:
    for i in 0..<count { output[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
  }
}

extension Float {
  /// IEEE binary16 to binary32, exact (subnormals, infinities and NaN included).
  init(float16Bits h: UInt16) {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0:
      // ±0 or subnormal: mantissa · 2⁻²⁴.
      self = Float(bitPattern: sign) + (sign != 0 ? -1 : 1) * Float(mantissa) * 0x1p-24
    case 31:
      self = Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
      self = Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }
  }
}
