// ggml's block formats, dequantised to Float32 in the order of operations
// of gguf-py's `quants.py` (each product and sum rounded in Float32 as there),
// so the results agree with it bit for bit. Scales are IEEE half precision.

/// Dequantises `count` values of `type` from `source` (whole blocks).
func dequantize(_ type: GGMLType, _ source: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>, count: Int) {
  let blocks = count / type.blockSize
  let base = source.baseAddress!.assumingMemoryBound(to: UInt8.self)
  func half(_ p: UnsafePointer<UInt8>) -> Float { Float(float16Bits: UInt16(p[0]) | UInt16(p[1]) << 8) }
  switch type {
  case .f32: convertToFloat(base, encoding: .float32, count: count, into: out)
  case .f16: convertToFloat(base, encoding: .float16, count: count, into: out)
  case .bf16: convertToFloat(base, encoding: .bfloat16, count: count, into: out)
  case .q8_0:
    // d (f16), 32 × int8: x = d·q.
    for b in 0..<blocks {
      let p = base + b * 34, d = half(p)
      for j in 0..<32 { out[b * 32 + j] = d * Float(Int8(bitPattern: p[2 + j])) }
    }
  case .q4_0, .q4_1:
    // d (f16)[, m (f16)], 16 bytes: element j < 16 is byte j's low nibble, j ≥ 16 byte j − 16's high nibble.
    let withMin = type == .q4_1, size = withMin ? 20 : 18, quants = withMin ? 4 : 2
    for b in 0..<blocks {
      let p = base + b * size, d = half(p), m = withMin ? half(p + 2) : 0
      for j in 0..<32 {
        let byte = p[quants + (j % 16)]
        let q = j < 16 ? byte & 0x0F : byte >> 4
        out[b * 32 + j] = withMin ? d * Float(q) + m : d * Float(Int(q) - 8)
      }
    }
  case .q5_0, .q5_1:
    // d[, m], 32 high bits (u32), 16 bytes of low nibbles as Q4.
    let withMin = type == .q5_1, size = withMin ? 24 : 22, bitsAt = withMin ? 4 : 2
    for b in 0..<blocks {
      let p = base + b * size, d = half(p), m = withMin ? half(p + 2) : 0
      let high = UInt32(p[bitsAt]) | UInt32(p[bitsAt + 1]) << 8 | UInt32(p[bitsAt + 2]) << 16 | UInt32(p[bitsAt + 3]) << 24
      for j in 0..<32 {
        let byte = p[bitsAt + 4 + (j % 16)]
        let q = Int(j < 16 ? byte & 0x0F : byte >> 4) | Int((high >> UInt32(j)) & 1) << 4
        out[b * 32 + j] = withMin ? d * Float(q) + m : d * Float(q - 16)
      }
    }
  case .q4_K, .q5_K:
    // d, dmin (f16), 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32,
    // [Q5_K: 32 bytes of fifth bits], 128 bytes of nibbles: values 64c…64c+31
    // are the low nibbles of bytes 32c…32c+31, 64c+32… their high nibbles.
    let fifth = type == .q5_K, size = fifth ? 176 : 144, nibblesAt = fifth ? 48 : 16
    for b in 0..<blocks {
      let p = base + b * size, d = half(p), dmin = half(p + 2)
      let (scales, mins) = kQuantScalesAndMins(p + 4)
      for e in 0..<256 {
        let sub = e / 32, chunk = e / 64, j = e % 32
        let byte = p[nibblesAt + chunk * 32 + j]
        var q = Int((e % 64) < 32 ? byte & 0x0F : byte >> 4)
        if fifth { q |= Int((p[16 + j] >> UInt8(sub)) & 1) << 4 }
        out[b * 256 + e] = (d * Float(scales[sub])) * Float(q) - dmin * Float(mins[sub])
      }
    }
  case .q6_K:
    // 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16 values), d (f16).
    for b in 0..<blocks {
      let p = base + b * 210, d = half(p + 208)
      for e in 0..<256 {
        let half128 = e / 128, r = e % 128
        let low = p[half128 * 64 + r % 64]
        let nibble = r < 64 ? low & 0x0F : low >> 4
        let high = (p[128 + half128 * 32 + r % 32] >> UInt8(2 * (r / 32))) & 3
        let q = Int(nibble | high << 4) - 32
        out[b * 256 + e] = (d * Float(Int8(bitPattern: p[192 + e / 16]))) * Float(q)
      }
    }
  default:
    preconditionFailure("dequantize: \(type) is not supported (GGUFFile.floats refuses it)")
  }
}

/// The eight 6-bit scales and mins of a Q4_K/Q5_K super-block, packed in 12
/// bytes: bytes 0–3 hold scales 0–3 (low 6 bits) and the top 2 bits of
/// scales 4–7, bytes 4–7 the same for the mins, bytes 8–11 the low 4 bits of
/// scales 4–7 (low nibble) and mins 4–7 (high nibble).
func kQuantScalesAndMins(_ p: UnsafePointer<UInt8>) -> (scales: [UInt8], mins: [UInt8]) {
  var scales = [UInt8](repeating: 0, count: 8), mins = scales
  for i in 0..<4 {
    scales[i] = p[i] & 0x3F
    mins[i] = p[4 + i] & 0x3F
    scales[4 + i] = (p[8 + i] & 0x0F) | ((p[i] >> 2) & 0x30)
    mins[4 + i] = (p[8 + i] >> 4) | ((p[4 + i] >> 2) & 0x30)
  }
  return (scales, mins)
}
