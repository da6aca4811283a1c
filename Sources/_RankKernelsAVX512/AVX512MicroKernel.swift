// The AVX-512 GEMM micro-kernels: the only code of RankKernels compiled with
// -mavx512f. Swift has no per-function target attribute, so they live in this
// module, and RankKernels calls them only after the load-time check has found
// AVX-512F on the CPU (`rankkernels_kernel_isa()`); nothing else here runs.
// No globals, no static stored properties: nothing executes at load time.
//
// Same tile and packing as the AVX2 kernel (6 rows × 16 columns of C, packed
// A 6 floats per k step, B 16 floats per k step), with each row of C in one
// zmm register instead of two ymm ones. Every element of C is the same chain
// fma(a[p], b[p], ·) over p = 0, 1, …, k−1 from zero, then the same
// alpha/beta update, so the results are bit-identical to the AVX2 kernel's.
// `Tools/check-assembly.sh` checks that the FMAs are zmm ones.

#if arch(x86_64)
import _RankKernelsCPU

/// The AVX-512 micro-kernels, with the signatures of RankKernels'
/// `GEMMMicroKernel.TileFunction`. Call only when the CPU has AVX-512F.
public enum AVX512MicroKernel {
  /// C[0..<rows, 0..<16] = alpha·Â·B̂ + beta·C for rows = 6, 5, …, 1: Â a
  /// packed micro-panel (6 floats per k step), B̂ a k×16 panel with row
  /// stride `ldb` floats. C is not read when beta is 0.
  @inline(never) public static func tile6(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 6, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  /// As `tile6`, for 5 rows.
  @inline(never) public static func tile5(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 5, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  /// As `tile6`, for 4 rows.
  @inline(never) public static func tile4(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 4, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  /// As `tile6`, for 3 rows.
  @inline(never) public static func tile3(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 3, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  /// As `tile6`, for 2 rows.
  @inline(never) public static func tile2(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 2, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  /// As `tile6`, for 1 row.
  @inline(never) public static func tile1(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 1, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }

  /// The 6-row tile with A read in place from a row-major block (row r at
  /// `a + r·lda`), as the AVX2 kernel's `tile6ReadingAInPlace`.
  @inline(never) public static func tile6ReadingAInPlace(
    _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    var rows = Rows()
    let row0 = a, row1 = a + lda, row2 = a + 2 * lda, row3 = a + 3 * lda, row4 = a + 4 * lda, row5 = a + 5 * lda
    var b = UnsafeRawPointer(b)
    let stride = ldb * MemoryLayout<Float>.stride
    for p in 0..<k {
      rows.step(count: 6, row0[p], row1[p], row2[p], row3[p], row4[p], row5[p], b: b)
      b += stride
    }
    rows.store(count: 6, alpha: alpha, beta: beta, c: c, ldc: ldc)
  }

  /// Twelve rows at once: two packed 6-row micro-panels of A (`a` and
  /// `a + panelStride`, 6 floats per k step each) against one B panel, as two
  /// `tile6` calls would compute them. Twelve independent FMA chains instead
  /// of six cover the FMA latency of cores with two 512-bit FMA units (six
  /// reach 70 % of peak there); each element's chain is unchanged, so the
  /// results are bit-identical to two 6-row tiles.
  @inline(never) public static func tile12(
    _ k: Int, _ a: UnsafePointer<Float>, _ panelStride: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    var top = Rows(), bottom = Rows()
    var upper = a, lower = a + panelStride
    var b = UnsafeRawPointer(b)
    let stride = ldb * MemoryLayout<Float>.stride
    for row in 0..<12 { rankkernels_prefetch_for_write(c + row * ldc) }
    var remaining = k
    while remaining >= 2 {
      rankkernels_prefetch(upper + 128)
      rankkernels_prefetch(lower + 128)
      var bRow = b.loadUnaligned(as: V.self)
      top.step(count: 6, a: upper, bRow: bRow)
      bottom.step(count: 6, a: lower, bRow: bRow)
      bRow = (b + stride).loadUnaligned(as: V.self)
      top.step(count: 6, a: upper + 6, bRow: bRow)
      bottom.step(count: 6, a: lower + 6, bRow: bRow)
      upper += 12
      lower += 12
      b += 2 * stride
      remaining -= 2
    }
    if remaining > 0 {
      let bRow = b.loadUnaligned(as: V.self)
      top.step(count: 6, a: upper, bRow: bRow)
      bottom.step(count: 6, a: lower, bRow: bRow)
    }
    top.store(count: 6, alpha: alpha, beta: beta, c: c, ldc: ldc)
    bottom.store(count: 6, alpha: alpha, beta: beta, c: c + 6 * ldc, ldc: ldc)
  }

  /// `tile12` with A read in place from a row-major block (row r at
  /// `a + r·lda`, depth contiguous), for the small products, whose A is in
  /// cache and feeds one or few tiles: packing it cost more than the tile.
  @inline(never) public static func tile12ReadingAInPlace(
    _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    var top = Rows(), bottom = Rows()
    let row0 = a, row1 = a + lda, row2 = a + 2 * lda, row3 = a + 3 * lda, row4 = a + 4 * lda, row5 = a + 5 * lda
    let row6 = a + 6 * lda, row7 = a + 7 * lda, row8 = a + 8 * lda, row9 = a + 9 * lda
    let row10 = a + 10 * lda, row11 = a + 11 * lda
    var b = UnsafeRawPointer(b)
    let stride = ldb * MemoryLayout<Float>.stride
    for p in 0..<k {
      let bRow = b.loadUnaligned(as: V.self)
      top.step(count: 6, row0[p], row1[p], row2[p], row3[p], row4[p], row5[p], bRow: bRow)
      bottom.step(count: 6, row6[p], row7[p], row8[p], row9[p], row10[p], row11[p], bRow: bRow)
      b += stride
    }
    top.store(count: 6, alpha: alpha, beta: beta, c: c, ldc: ldc)
    bottom.store(count: 6, alpha: alpha, beta: beta, c: c + 6 * ldc, ldc: ldc)
  }

  /// Sixteen rows read in place (row r at `a + r·lda`), the attention
  /// heads' m = 16: sixteen FMA chains and one pass over B, where 12 + 4 rows
  /// left the 4-row pass latency-bound. The rows are addressed as four base
  /// pointers plus 0, 1, 2, 3 row strides, so that they fit the general
  /// registers (sixteen row pointers did not).
  @inline(never) public static func tile16ReadingAInPlace(
    _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    var rows0 = Rows(), rows4 = Rows(), rows8 = Rows(), rows12 = Rows()
    let rowBytes = lda * MemoryLayout<Float>.stride
    var base0 = UnsafeRawPointer(a), base4 = base0 + 4 * rowBytes
    var base8 = base0 + 8 * rowBytes, base12 = base0 + 12 * rowBytes
    var b = UnsafeRawPointer(b)
    let stride = ldb * MemoryLayout<Float>.stride
    for _ in 0..<k {
      let bRow = b.loadUnaligned(as: V.self)
      rows0.step(fourRowsAt: base0, rowBytes: rowBytes, bRow: bRow)
      rows4.step(fourRowsAt: base4, rowBytes: rowBytes, bRow: bRow)
      rows8.step(fourRowsAt: base8, rowBytes: rowBytes, bRow: bRow)
      rows12.step(fourRowsAt: base12, rowBytes: rowBytes, bRow: bRow)
      base0 += MemoryLayout<Float>.stride
      base4 += MemoryLayout<Float>.stride
      base8 += MemoryLayout<Float>.stride
      base12 += MemoryLayout<Float>.stride
      b += stride
    }
    rows0.store(count: 4, alpha: alpha, beta: beta, c: c, ldc: ldc)
    rows4.store(count: 4, alpha: alpha, beta: beta, c: c + 4 * ldc, ldc: ldc)
    rows8.store(count: 4, alpha: alpha, beta: beta, c: c + 8 * ldc, ldc: ldc)
    rows12.store(count: 4, alpha: alpha, beta: beta, c: c + 12 * ldc, ldc: ldc)
  }

  /// Rows 0..<16 of two adjacent full panels (32 columns of C) with A read
  /// in place, as two passes of 8 rows × 32 columns: sixteen FMA chains per
  /// pass, and per k step 2 loads of B and 8 broadcasts of A for 16 FMAs
  /// (the 16-row tile needs 1 and 16). Each element's chain is unchanged.
  @inline(never) public static func tile16x32ReadingAInPlace(
    _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    let rowBytes = lda * MemoryLayout<Float>.stride
    let stride = ldb * MemoryLayout<Float>.stride
    for half in 0..<2 {
      var left0 = Rows(), left4 = Rows(), right0 = Rows(), right4 = Rows()
      var base0 = UnsafeRawPointer(a + 8 * half * lda), base4 = base0 + 4 * rowBytes
      var bRows = UnsafeRawPointer(b)
      for _ in 0..<k {
        let bLeft = bRows.loadUnaligned(as: V.self), bRight = bRows.loadUnaligned(fromByteOffset: 64, as: V.self)
        let a0 = base0.load(as: Float.self), a1 = base0.load(fromByteOffset: rowBytes, as: Float.self)
        let a2 = base0.load(fromByteOffset: 2 * rowBytes, as: Float.self)
        let a3 = base0.load(fromByteOffset: 3 * rowBytes, as: Float.self)
        let a4 = base4.load(as: Float.self), a5 = base4.load(fromByteOffset: rowBytes, as: Float.self)
        let a6 = base4.load(fromByteOffset: 2 * rowBytes, as: Float.self)
        let a7 = base4.load(fromByteOffset: 3 * rowBytes, as: Float.self)
        left0.step(count: 4, a0, a1, a2, a3, 0, 0, bRow: bLeft)
        right0.step(count: 4, a0, a1, a2, a3, 0, 0, bRow: bRight)
        left4.step(count: 4, a4, a5, a6, a7, 0, 0, bRow: bLeft)
        right4.step(count: 4, a4, a5, a6, a7, 0, 0, bRow: bRight)
        base0 += MemoryLayout<Float>.stride
        base4 += MemoryLayout<Float>.stride
        bRows += stride
      }
      let top = c + 8 * half * ldc
      left0.store(count: 4, alpha: alpha, beta: beta, c: top, ldc: ldc)
      right0.store(count: 4, alpha: alpha, beta: beta, c: top + 16, ldc: ldc)
      left4.store(count: 4, alpha: alpha, beta: beta, c: top + 4 * ldc, ldc: ldc)
      right4.store(count: 4, alpha: alpha, beta: beta, c: top + 4 * ldc + 16, ldc: ldc)
    }
  }

  typealias V = SIMD16<Float>

  @inline(__always)
  static func tile(
    rows count: Int, k: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    var rows = Rows()
    var a = packedA
    var b = UnsafeRawPointer(packedB)
    let stride = ldb * MemoryLayout<Float>.stride
    for row in 0..<count { rankkernels_prefetch_for_write(c + row * ldc) }
    var remaining = k
    while remaining >= 4 {
      rankkernels_prefetch(a + 256)
      rows.step(count: count, a: a, b: b)
      rows.step(count: count, a: a + 6, b: b + stride)
      rows.step(count: count, a: a + 12, b: b + 2 * stride)
      rows.step(count: count, a: a + 18, b: b + 3 * stride)
      a += 24
      b += 4 * stride
      remaining -= 4
    }
    while remaining > 0 {
      rows.step(count: count, a: a, b: b)
      a += 6
      b += stride
      remaining -= 1
    }
    rows.store(count: count, alpha: alpha, beta: beta, c: c, ldc: ldc)
  }

  /// Six rows of a 16-column tile, one zmm register each.
  struct Rows {
    var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V()

    @inline(__always)
    init() {}

    @inline(__always)
    mutating func step(count: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer) {
      step(count: count, a: a, bRow: b.loadUnaligned(as: V.self))
    }

    @inline(__always)
    mutating func step(count: Int, a: UnsafePointer<Float>, bRow: V) {
      step(
        count: count, a[0], count > 1 ? a[1] : 0, count > 2 ? a[2] : 0, count > 3 ? a[3] : 0,
        count > 4 ? a[4] : 0, count > 5 ? a[5] : 0, bRow: bRow)
    }

    /// One k step of four rows at `base`, `base + rowBytes`, … (bytes).
    @inline(__always)
    mutating func step(fourRowsAt base: UnsafeRawPointer, rowBytes: Int, bRow: V) {
      step(
        count: 4, base.load(as: Float.self), base.load(fromByteOffset: rowBytes, as: Float.self),
        base.load(fromByteOffset: 2 * rowBytes, as: Float.self), base.load(fromByteOffset: 3 * rowBytes, as: Float.self),
        0, 0, bRow: bRow)
    }

    @inline(__always)
    mutating func step(
      count: Int, _ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float,
      b: UnsafeRawPointer
    ) {
      step(count: count, a0, a1, a2, a3, a4, a5, bRow: b.loadUnaligned(as: V.self))
    }

    /// One k step: each row adds its A element times B's row.
    @inline(__always)
    mutating func step(
      count: Int, _ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float,
      bRow: V
    ) {
      c0.addProduct(V(repeating: a0), bRow)
      if count > 1 { c1.addProduct(V(repeating: a1), bRow) }
      if count > 2 { c2.addProduct(V(repeating: a2), bRow) }
      if count > 3 { c3.addProduct(V(repeating: a3), bRow) }
      if count > 4 { c4.addProduct(V(repeating: a4), bRow) }
      if count > 5 { c5.addProduct(V(repeating: a5), bRow) }
    }

    @inline(__always)
    func store(count: Int, alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
      Self.storeRow(c, alpha: alpha, beta: beta, c0)
      if count > 1 { Self.storeRow(c + ldc, alpha: alpha, beta: beta, c1) }
      if count > 2 { Self.storeRow(c + 2 * ldc, alpha: alpha, beta: beta, c2) }
      if count > 3 { Self.storeRow(c + 3 * ldc, alpha: alpha, beta: beta, c3) }
      if count > 4 { Self.storeRow(c + 4 * ldc, alpha: alpha, beta: beta, c4) }
      if count > 5 { Self.storeRow(c + 5 * ldc, alpha: alpha, beta: beta, c5) }
    }

    /// row[0..<16] = alpha·sum + beta·row, as the AVX2 kernel: the product
    /// rounded first, then one fused multiply-add with beta (row not read
    /// when beta is 0).
    @inline(__always)
    static func storeRow(_ row: UnsafeMutablePointer<Float>, alpha: Float, beta: Float, _ sum: V) {
      let destination = UnsafeMutableRawPointer(row)
      var scaled = sum * alpha
      if beta != 0 { scaled.addProduct(V(repeating: beta), destination.loadUnaligned(as: V.self)) }
      destination.storeBytes(of: scaled, as: V.self)
    }
  }
}
#endif
