// The architecture-specific part of GEMM, and the only file in it that knows
// the vector width. Everything else (packing, blocking, threading) is written
// in terms of `GEMMMicroKernel.rows` × `GEMMMicroKernel.columns` tiles.
//
// Tile 6×16: per k step, 2 vector loads of packed B, 6 broadcasts of packed A,
// 12 FMAs into 12 accumulators: 15 of the 16 ymm registers, enough independent
// chains to cover FMA latency on Zen 1 (one ymm FMA per cycle) and Zen 3 (two).
// Verify the generated code with `Tools/check-assembly.sh`.
//
// On a CPU with AVX-512F the tiles run as `_RankKernelsAVX512`'s kernels
// instead (same tile, one zmm per row, bit-identical results); the choice is
// `CPUFeatures.kernelInstructionSet`, made once at load time.

import _RankKernelsAVX512
import _RankKernelsCPU

/// Register-tile geometry of the GEMM micro-kernel.
@usableFromInline
internal enum GEMMMicroKernel {
  /// MR: rows of C per tile (broadcast elements of packed A per k step).
  static let rows = 6
  /// NR: columns of C per tile (two 8-float vectors of packed B per k step).
  static let columns = 16

  /// C[0..<rows, 0..<16] = alpha · Â·B̂ + beta · C, where Â is a packed
  /// micro-panel (k-major, 6 floats per step, rows beyond `rows` ignored) and
  /// B̂ a packed k×16 micro-panel (16 floats per step). With `beta == 0`, C is
  /// not read (BLAS semantics: NaN in C does not propagate).
  ///
  /// `rows` must be a literal at the call site: after inlining, the row
  /// conditions fold away and each row count gets its own straight-line code.
  @inline(__always)
  static func tile(
    rows: Int, k: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, ldb: Int = 16,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    var accumulators = Accumulators()
    var a = packedA
    var b = UnsafeRawPointer(packedB)
    let stride = ldb * MemoryLayout<Float>.stride
    // C's rows are written once, at the end: request them now so their
    // misses (C is L3- or memory-resident in the large products) overlap the
    // k loop instead of filling the store queue at the end.
    for row in 0..<rows {
      rankkernels_prefetch_for_write(c + row * ldc)
      rankkernels_prefetch_for_write(c + row * ldc + 15)
    }
    // Unrolled by 4 to keep loop overhead off the FMA pipes' critical path.
    var remaining = k
    while remaining >= 4 {
      // Packed A streams from L2 (6·k floats per tile); 24 floats per
      // iteration, so one request 256 floats ahead keeps it in flight.
      rankkernels_prefetch(a + 256)
      accumulators.step(rows: rows, a: a, b: b)
      accumulators.step(rows: rows, a: a + 6, b: b + stride)
      accumulators.step(rows: rows, a: a + 12, b: b + 2 * stride)
      accumulators.step(rows: rows, a: a + 18, b: b + 3 * stride)
      a += 24
      b += 4 * stride
      remaining -= 4
    }
    while remaining > 0 {
      accumulators.step(rows: rows, a: a, b: b)
      a += 6
      b += stride
      remaining -= 1
    }
    accumulators.store(rows: rows, alpha: alpha, beta: beta, c: c, ldc: ldc)
  }

  /// The full 6-row tile with A read in place from a row-major block (row r at
  /// `a + r·lda`, depth contiguous), for callers whose A is already in cache
  /// and used by few tiles (attention's query rows and probability strips), so
  /// that packing it would cost more than it saves. Callers with fewer than 6
  /// rows stage them, zero-padded, in a 6-row buffer.
  ///
  /// Six row pointers advanced together, rather than `a[r·lda]` offsets: with
  /// the offsets, LLVM hoisted broadcasts of the next steps and spilled an
  /// accumulator to the stack on every iteration (~30 % slower).
  @inline(__always)
  static func tile6ReadingAInPlace(
    k: Int, a: UnsafePointer<Float>, lda: Int, b packedB: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    #if arch(x86_64)
    if CPUFeatures.runsAVX512Kernels {
      AVX512MicroKernel.tile6ReadingAInPlace(k, a, lda, packedB, ldb, alpha, beta, c, ldc)
      return
    }
    #endif
    tile6ReadingAInPlaceAVX2(k: k, a: a, lda: lda, b: packedB, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc)
  }

  @inline(never)
  static func tile6ReadingAInPlaceAVX2(
    k: Int, a: UnsafePointer<Float>, lda: Int, b packedB: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    var accumulators = Accumulators()
    let row0 = a, row1 = a + lda, row2 = a + 2 * lda, row3 = a + 3 * lda, row4 = a + 4 * lda, row5 = a + 5 * lda
    var b = UnsafeRawPointer(packedB)
    let stride = ldb * MemoryLayout<Float>.stride
    for p in 0..<k {
      accumulators.step(rows: 6, row0[p], row1[p], row2[p], row3[p], row4[p], row5[p], b: b)
      b += stride
    }
    accumulators.store(rows: 6, alpha: alpha, beta: beta, c: c, ldc: ldc)
  }

  /// The 6×16 register tile: 12 vectors that the optimiser keeps in ymm
  /// registers once `step` and `store` are inlined (checked in the assembly).
 
  struct Accumulators {
    typealias V = SIMD8<Float>
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()

    @inline(__always)
    init() {}

    /// One k step: rank-1 update with A's column (`rows` elements, packed
    /// contiguously) and B's row.
    @inline(__always)
    mutating func step(rows: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer) {
      step(
        rows: rows, a[0], rows > 1 ? a[1] : 0, rows > 2 ? a[2] : 0, rows > 3 ? a[3] : 0,
        rows > 4 ? a[4] : 0, rows > 5 ? a[5] : 0, b: b)
    }

    /// One k step with A's column given as scalars (those beyond `rows` unused).
    @inline(__always)
    mutating func step(
      rows: Int, _ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float,
      b: UnsafeRawPointer
    ) {
      let b0 = b.loadUnaligned(as: V.self)
      let b1 = b.loadUnaligned(fromByteOffset: 32, as: V.self)
      var broadcast = V(repeating: a0)
      c00.addProduct(broadcast, b0); c01.addProduct(broadcast, b1)
      if rows > 1 {
        broadcast = V(repeating: a1)
        c10.addProduct(broadcast, b0); c11.addProduct(broadcast, b1)
      }
      if rows > 2 {
        broadcast = V(repeating: a2)
        c20.addProduct(broadcast, b0); c21.addProduct(broadcast, b1)
      }
      if rows > 3 {
        broadcast = V(repeating: a3)
        c30.addProduct(broadcast, b0); c31.addProduct(broadcast, b1)
      }
      if rows > 4 {
        broadcast = V(repeating: a4)
        c40.addProduct(broadcast, b0); c41.addProduct(broadcast, b1)
      }
      if rows > 5 {
        broadcast = V(repeating: a5)
        c50.addProduct(broadcast, b0); c51.addProduct(broadcast, b1)
      }
    }

    @inline(__always)
    func store(rows: Int, alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
      Self.storeRow(c, alpha: alpha, beta: beta, c00, c01)
      if rows > 1 { Self.storeRow(c + ldc, alpha: alpha, beta: beta, c10, c11) }
      if rows > 2 { Self.storeRow(c + 2 * ldc, alpha: alpha, beta: beta, c20, c21) }
      if rows > 3 { Self.storeRow(c + 3 * ldc, alpha: alpha, beta: beta, c30, c31) }
      if rows > 4 { Self.storeRow(c + 4 * ldc, alpha: alpha, beta: beta, c40, c41) }
      if rows > 5 { Self.storeRow(c + 5 * ldc, alpha: alpha, beta: beta, c50, c51) }
    }

    /// row[0..<16] = alpha·(low, high) + beta·row, not reading row when beta is 0.
    @inline(__always)
    static func storeRow(_ row: UnsafeMutablePointer<Float>, alpha: Float, beta: Float, _ low: V, _ high: V) {
      let destination = UnsafeMutableRawPointer(row)
      var low = low * alpha, high = high * alpha
      if beta != 0 {
        let betaV = V(repeating: beta)
        low.addProduct(betaV, destination.loadUnaligned(as: V.self))
        high.addProduct(betaV, destination.loadUnaligned(fromByteOffset: 32, as: V.self))
      }
      destination.storeBytes(of: low, as: V.self)
      destination.storeBytes(of: high, toByteOffset: 32, as: V.self)
    }
  }

  /// True when the selected instruction set has the 12-row tile (`tile12`):
  /// AVX-512. Read once per product by the drivers.
  @inline(__always)
  static var hasTwelveRowTile: Bool {
    #if arch(x86_64)
    return CPUFeatures.runsAVX512Kernels
    #else
    return false
    #endif
  }

  /// Rows r..<r+12 of a full 16-column tile from two consecutive packed 6-row
  /// micro-panels (the second at `packedA + 6·k`), bit-identical to two
  /// 6-row tiles. Only where `hasTwelveRowTile`.
  @inline(__always)
  static func tile12(
    k: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    #if arch(x86_64)
    AVX512MicroKernel.tile12(k, packedA, rows * k, packedB, ldb, alpha, beta, c, ldc)
    #else
    preconditionFailure("no 12-row tile on this architecture")
    #endif
  }

  /// Rows 0..<`rows` (12 or 16) of a full 16-column tile with A read in
  /// place (row r at `a + r·lda`), bit-identical to 6-row (and 4-row) tiles:
  /// the small products' M = 16 in one pass, or their first 12 rows. Only
  /// where `hasTwelveRowTile` (AVX-512, which has the registers for them).
  @inline(__always)
  static func wideTileReadingAInPlace(
    rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b packedB: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    #if arch(x86_64)
    precondition(rows == 12 || rows == 16, "the wide in-place tiles have 12 or 16 rows")
    let kernel = rows == 16 ? AVX512MicroKernel.tile16ReadingAInPlace : AVX512MicroKernel.tile12ReadingAInPlace
    kernel(k, a, lda, packedB, ldb, alpha, beta, c, ldc)
    #else
    preconditionFailure("no wide tiles on this architecture")
    #endif
  }

  /// Rows 0..<16 of two adjacent full 16-column panels (32 columns of C),
  /// A read in place: two passes of 8 rows × 32 columns, which load B twice
  /// and broadcast A half as often as two 16-row tiles (16×16×64: 0.97× →
  /// 1.12× OpenBLAS). Bit-identical to them. Only where `hasTwelveRowTile`.
  @inline(__always)
  static func doubleTileReadingAInPlace(
    k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    #if arch(x86_64)
    AVX512MicroKernel.tile16x32ReadingAInPlace(k, a, lda, b, ldb, alpha, beta, c, ldc)
    #else
    preconditionFailure("no wide tiles on this architecture")
    #endif
  }

  /// The tile for a run-time row count 1...6, on the selected instruction
  /// set. Each count is a separate non-inlined function: kept small, the
  /// optimiser fully inlines its loads and keeps the accumulators in registers
  /// (inlined into the large driver, it hit the inliner's size budget and
  /// called `loadUnaligned` out of line).
  @inline(__always)
  static func tile(
    dynamicRows rows: Int, k: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, ldb: Int = 16,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let kernel: TileFunction
    #if arch(x86_64)
    if CPUFeatures.runsAVX512Kernels {
      switch rows {
      case 6: kernel = AVX512MicroKernel.tile6
      case 5: kernel = AVX512MicroKernel.tile5
      case 4: kernel = AVX512MicroKernel.tile4
      case 3: kernel = AVX512MicroKernel.tile3
      case 2: kernel = AVX512MicroKernel.tile2
      default: kernel = AVX512MicroKernel.tile1
      }
      kernel(k, packedA, packedB, ldb, alpha, beta, c, ldc)
      return
    }
    #endif
    switch rows {
    case 6: kernel = tile6
    case 5: kernel = tile5
    case 4: kernel = tile4
    case 3: kernel = tile3
    case 2: kernel = tile2
    default: kernel = tile1
    }
    kernel(k, packedA, packedB, ldb, alpha, beta, c, ldc)
  }

  typealias TileFunction = (
    Int, UnsafePointer<Float>, UnsafePointer<Float>, Int, Float, Float, UnsafeMutablePointer<Float>, Int
  ) -> Void

  @inline(never) static func tile6(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 6, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  @inline(never) static func tile5(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 5, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  @inline(never) static func tile4(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 4, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  @inline(never) static func tile3(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 3, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  @inline(never) static func tile2(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 2, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
  @inline(never) static func tile1(
    _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ alpha: Float, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) { tile(rows: 1, k: k, packedA: a, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc) }
}
