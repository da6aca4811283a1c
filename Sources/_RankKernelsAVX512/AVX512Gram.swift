// The Float64 Gram accumulation of RankKernels' `gramMatrix` at AVX-512's
// width. The AVX2 loop keeps two 4-lane accumulators per inner product, `s`
// for the first 32 bytes of every 64 and `t` for the second, and adds
// (s + t).sum() to the element. One zmm accumulator is exactly [s | t]: the
// same fused multiply-adds in the same lanes and order, reduced the same way
// (low half + high half, then SIMD4's sum()), so the results are
// bit-identical. Half the FMA instructions, and a 4 × 4 block of products
// (sixteen chains in flight, eight loads per sixteen FMAs) where the AVX2
// loop takes 3 × 2: 46–49 against 35–36 GFLOP/s at 16 × 768 on an Intel
// Xeon (4 × 2 blocks: 46).

#if arch(x86_64)

/// The Gram accumulation, with the signature of RankKernels' AVX2 loop.
/// Call only when the CPU has AVX-512F.
public enum AVX512Gram {
  /// Adds the inner products of the rows of `wide` (n rows of `width`
  /// Float64, a multiple of 8, contiguous) to the upper triangle of `gram`
  /// (row stride `ldg`).
  @inline(never)
  public static func accumulate(rows n: Int, wide: UnsafePointer<Double>, width: Int, gram: UnsafeMutablePointer<Double>, ldg: Int) {
    typealias Vector = SIMD8<Double>
    let raw = UnsafeRawPointer(wide)
    let rowBytes = width &* 8
    /// Adds the product's sum to (row, column) only for distinct real rows on or above the diagonal.
    @inline(__always) func add(_ sum: Vector, row: Int, rowIsReal: Bool, column: Int, columnIsReal: Bool) {
      if rowIsReal && columnIsReal && column >= row { gram[row * ldg + column] += (sum.lowHalf + sum.highHalf).sum() }
    }
    var i = 0
    while i < n {
      // Rows and columns past the end repeat the last one; their sums are not written.
      let i1 = min(i + 1, n - 1), i2 = min(i + 2, n - 1), i3 = min(i + 3, n - 1)
      let a0 = raw + i &* rowBytes, a1 = raw + i1 &* rowBytes, a2 = raw + i2 &* rowBytes, a3 = raw + i3 &* rowBytes
      var j = i
      while j < n {
        let j1 = min(j + 1, n - 1), j2 = min(j + 2, n - 1), j3 = min(j + 3, n - 1)
        let b0 = raw + j &* rowBytes, b1 = raw + j1 &* rowBytes, b2 = raw + j2 &* rowBytes, b3 = raw + j3 &* rowBytes
        var s00 = Vector(), s01 = Vector(), s02 = Vector(), s03 = Vector()
        var s10 = Vector(), s11 = Vector(), s12 = Vector(), s13 = Vector()
        var s20 = Vector(), s21 = Vector(), s22 = Vector(), s23 = Vector()
        var s30 = Vector(), s31 = Vector(), s32 = Vector(), s33 = Vector()
        var offset = 0
        while offset < rowBytes {
          let y0 = b0.load(fromByteOffset: offset, as: Vector.self), y1 = b1.load(fromByteOffset: offset, as: Vector.self)
          let y2 = b2.load(fromByteOffset: offset, as: Vector.self), y3 = b3.load(fromByteOffset: offset, as: Vector.self)
          let x0 = a0.load(fromByteOffset: offset, as: Vector.self)
          s00.addProduct(x0, y0); s01.addProduct(x0, y1); s02.addProduct(x0, y2); s03.addProduct(x0, y3)
          let x1 = a1.load(fromByteOffset: offset, as: Vector.self)
          s10.addProduct(x1, y0); s11.addProduct(x1, y1); s12.addProduct(x1, y2); s13.addProduct(x1, y3)
          let x2 = a2.load(fromByteOffset: offset, as: Vector.self)
          s20.addProduct(x2, y0); s21.addProduct(x2, y1); s22.addProduct(x2, y2); s23.addProduct(x2, y3)
          let x3 = a3.load(fromByteOffset: offset, as: Vector.self)
          s30.addProduct(x3, y0); s31.addProduct(x3, y1); s32.addProduct(x3, y2); s33.addProduct(x3, y3)
          offset &+= 64
        }
        let c1 = j1 > j, c2 = j2 > j1, c3 = j3 > j2
        /// Adds one row's four sums to the real columns j, j1, j2, j3.
        @inline(__always) func addRow(_ s0: Vector, _ s1: Vector, _ s2: Vector, _ s3: Vector, row: Int, rowIsReal: Bool) {
          add(s0, row: row, rowIsReal: rowIsReal, column: j, columnIsReal: true)
          add(s1, row: row, rowIsReal: rowIsReal, column: j1, columnIsReal: c1)
          add(s2, row: row, rowIsReal: rowIsReal, column: j2, columnIsReal: c2)
          add(s3, row: row, rowIsReal: rowIsReal, column: j3, columnIsReal: c3)
        }
        addRow(s00, s01, s02, s03, row: i, rowIsReal: true)
        addRow(s10, s11, s12, s13, row: i1, rowIsReal: i1 > i)
        addRow(s20, s21, s22, s23, row: i2, rowIsReal: i2 > i1)
        addRow(s30, s31, s32, s33, row: i3, rowIsReal: i3 > i2)
        j += 4
      }
      i += 4
    }
  }
}
#endif
