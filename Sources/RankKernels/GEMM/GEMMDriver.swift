// The portable GEMM framework (BLIS's five loops), around the micro-kernel.
//
// Threads split C into disjoint column (or row) blocks aligned to the tile, and
// each thread runs the whole blocked algorithm on its block with its own packing
// buffers. This costs one extra packing of A per thread (M·K copies against
// M·K·N/threads multiply-adds, negligible at N ≥ 64) and buys a single
// fork/join per call, with no barriers, and results that do not depend on the
// thread count: every element of C is reduced over k in the same order.

/// Swift SGEMM: C = alpha·op(A)·op(B) + beta·C, row-major. Arguments checked by
/// the caller.
internal func swiftSGEMM(
  transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
  if m == 0 || n == 0 { return }
  if k == 0 || alpha == 0 {
    scaleMatrix(m: m, n: n, beta: beta, c: c, ldc: ldc)
    return
  }
  if transA == .noTranspose && m <= GEMMTuning.inPlaceBRowLimit && n <= GEMMTuning.smallProductColumns
    && k <= GEMMTuning.smallProductDepth
  {
    smallSGEMM(transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    return
  }
  let work = m * n * k
  let usable = work < GEMMTuning.parallelThreshold ? 1 : max(1, threads)
  let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
  // Split the dimension that gives every thread whole tiles; prefer N, since
  // splitting M would make each thread re-pack all of B.
  let splitColumns = (n + nr - 1) / nr >= usable || (m + mr - 1) / mr < usable
  let ranges = splitColumns
    ? splitRange(n, parts: usable, granule: nr) : splitRange(m, parts: usable, granule: mr)
  parallelForEach(taskCount: ranges.count, threads: usable) { task in
    let range = ranges[task]
    if transB == .noTranspose && m <= GEMMTuning.inPlaceBRowLimit {
      // Dispatched here rather than inside serialSGEMM so that the blocked
      // loop compiles as it was measured (with the branch inside, the large
      // products ran 5–10 % slower).
      if splitColumns {
        let j0 = range.lowerBound
        serialSGEMMReadingBInPlace(
          transA: transA, m: m, n: range.count, k: k, alpha: alpha, a: a, lda: lda, b: b + j0, ldb: ldb,
          beta: beta, c: c + j0, ldc: ldc)
      } else {
        let i0 = range.lowerBound
        serialSGEMMReadingBInPlace(
          transA: transA, m: range.count, n: n, k: k, alpha: alpha, a: transA == .noTranspose ? a + i0 * lda : a + i0,
          lda: lda, b: b, ldb: ldb, beta: beta, c: c + i0 * ldc, ldc: ldc)
      }
    } else if splitColumns {
      let j0 = range.lowerBound
      let bBlock = transB == .noTranspose ? b + j0 : b + j0 * ldb
      serialSGEMM(
        transA: transA, transB: transB, m: m, n: range.count, k: k, alpha: alpha,
        a: a, lda: lda, b: bBlock, ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
    } else {
      let i0 = range.lowerBound
      let aBlock = transA == .noTranspose ? a + i0 * lda : a + i0
      serialSGEMM(
        transA: transA, transB: transB, m: range.count, n: n, k: k, alpha: alpha,
        a: aBlock, lda: lda, b: b, ldb: ldb, beta: beta, c: c + i0 * ldc, ldc: ldc)
    }
  }
}

/// C = beta·C without reading C when beta is 0.
@inline(__always)
internal func scaleMatrix(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
  if beta == 1 { return }
  for i in 0..<m {
    let row = c + i * ldc
    if beta == 0 {
      row.update(repeating: 0, count: n)
    } else {
      for j in 0..<n { row[j] *= beta }
    }
  }
}

/// One thread's blocked GEMM: jc (NC) → pc (KC, pack B) → ic (MC, pack A) →
/// jr (NR) → ir (MR) → micro-kernel.
///
/// When all of op(A)'s rows fit in one MC block (every BERT activation shape
/// with M ≤ 144), each packed B micro-panel is used by exactly one pass over
/// the rows, so it is packed right before that pass into a buffer that stays
/// in L1, instead of packing the whole KC×NC block out to L3 and reading it
/// back.
internal func serialSGEMM(
  transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  blockedProduct(
    transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
    c: c, ldc: ldc, lowerTriangularA: false)
}

/// The five loops of `serialSGEMM`, shared with the lower-triangular product
/// (`lowerTriangularA`, a literal at both call sites, so each gets its own
/// loop with the other's branches folded away). For a lower-triangular A
/// (m × k, entries A[i, j] with j ≤ i): packed A panels are zeroed above the
/// diagonal, a depth block skips the rows above it, and the tile of rows
/// r..<r+6 stops its depth loop at r+6.
@inline(__always)
internal func blockedProduct(
  transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, lowerTriangularA: Bool
) {
  let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
  let kcMax = min(k, GEMMTuning.depthBlock)
  let mcMax = min(roundUp(m, toMultipleOf: mr), GEMMTuning.rowBlock)
  let ncMax = min(roundUp(n, toMultipleOf: nr), GEMMTuning.columnBlock)
  let packPanelsJustInTime = m <= mcMax
  let arena = ScratchArena.current
  let packedA = arena.buffer(.gemmPackedA, count: mcMax * kcMax, of: Float.self)
  let chunkColumns = GEMMTuning.panelsPerChunk * nr
  let packedB = arena.buffer(
    .gemmPackedB, count: (packPanelsJustInTime ? min(chunkColumns, ncMax) : ncMax) * kcMax, of: Float.self)
  let edgeTile = arena.buffer(.gemmEdgeTile, count: mr * nr, of: Float.self)
  let aTransposed = transA == .transpose, bTransposed = transB == .transpose
  // Not for a triangular A: its depth per tile depends on the tile's rows.
  let twelveRowTiles = !lowerTriangularA && GEMMMicroKernel.hasTwelveRowTile

  var jc = 0
  while jc < n {
    let nc = min(ncMax, n - jc)
    var pc = 0
    while pc < k {
      let kc = min(kcMax, k - pc)
      let betaHere: Float = pc == 0 ? beta : 1
      let bSource = bTransposed ? b + jc * ldb + pc : b + pc * ldb + jc
      if !packPanelsJustInTime {
        packB(transposed: bTransposed, b: bSource, ldb: ldb, kc: kc, nc: nc, into: packedB)
      }
      // A lower-triangular A has no terms in this depth block above row pc.
      var ic = lowerTriangularA ? pc / mr * mr : 0
      while ic < m {
        let mc = min(mcMax, m - ic)
        let aSource = aTransposed ? a + pc * lda + ic : a + ic * lda + pc
        packA(transposed: aTransposed, a: aSource, lda: lda, mc: mc, kc: kc, into: packedA)
        if lowerTriangularA { zeroAboveDiagonal(packedA, firstRow: ic, rows: mc, firstDepth: pc, depth: kc) }
        var jr = 0
        while jr < nc {
          let columns = min(nr, nc - jr)
          let bPanel: UnsafePointer<Float>
          let panelStride = nr
          if packPanelsJustInTime {
            // Pack a chunk of adjacent panels when entering it: each source row
            // is then read as several adjacent cache lines, not one line per row.
            if jr % chunkColumns == 0 {
              let panelSource = bTransposed ? bSource + jr * ldb : bSource + jr
              packB(
                transposed: bTransposed, b: panelSource, ldb: ldb, kc: kc,
                nc: min(chunkColumns, nc - jr), into: packedB)
            }
            bPanel = UnsafePointer(packedB + (jr % chunkColumns) * kc)
          } else {
            bPanel = UnsafePointer(packedB + jr * kc)
          }
          var ir = 0
          while ir < mc {
            let rows = min(mr, mc - ir)
            let aPanel = UnsafePointer(packedA + ir * kc)
            let cTile = c + (ic + ir) * ldc + jc + jr
            if twelveRowTiles && columns == nr && mc - ir >= 2 * mr {
              GEMMMicroKernel.tile12(
                k: kc, packedA: aPanel, packedB: bPanel, ldb: panelStride, alpha: alpha, beta: betaHere, c: cTile, ldc: ldc)
              ir += 2 * mr
              continue
            }
            let depth = lowerTriangularA ? min(kc, ic + ir + rows - pc) : kc
            if depth > 0 {
              multiplyTile(
                rows: rows, columns: columns, k: depth, packedA: aPanel, b: bPanel, ldb: panelStride, alpha: alpha,
                beta: betaHere, c: cTile, ldc: ldc, edgeTile: edgeTile)
            }
            ir += mr
          }
          jr += nr
        }
        ic += mc
      }
      pc += kc
    }
    jc += nc
  }
}

/// serialSGEMM for few rows of C (m ≤ `GEMMTuning.inPlaceBRowLimit`) and an
/// untransposed B: each 16-column panel of B feeds at most four 6-row tiles,
/// too few to repay packing it (read, write, read again), so the micro-kernel
/// reads full panels in place with stride ldb; only the last, partial panel is
/// packed (zero-padded). A is packed once per KC block. This is the shape of
/// the sketch engine's F (16 × 16) · G (16 × 768) products. Kept apart from
/// `serialSGEMM`, whose blocked loop it leaves untouched.
@inline(never)
private func serialSGEMMReadingBInPlace(
  transA: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
  let kcMax = min(k, GEMMTuning.depthBlock)
  let mPadded = roundUp(m, toMultipleOf: mr)
  let arena = ScratchArena.current
  let packedA = arena.buffer(.gemmPackedA, count: mPadded * kcMax, of: Float.self)
  let packedB = arena.buffer(.gemmPackedB, count: nr * kcMax, of: Float.self)
  let edgeTile = arena.buffer(.gemmEdgeTile, count: mr * nr, of: Float.self)
  let twelveRowTiles = GEMMMicroKernel.hasTwelveRowTile
  // m = 16 on AVX-512 (the Gram engine's entries, [a | F]·[u | Ω]ᵀ at 16
  // tokens): the 16-row tiles read A in place, as in `smallSGEMM`, where
  // 12 + 4 rows left the 4-row pass latency-bound; A is packed only for a
  // partial last panel.
  let sixteenRowTiles = twelveRowTiles && m == 16 && transA == .noTranspose
  let fullPanelColumns = sixteenRowTiles ? n / nr * nr : 0
  var pc = 0
  while pc < k {
    let kc = min(kcMax, k - pc)
    let betaHere: Float = pc == 0 ? beta : 1
    var jr = 0
    if sixteenRowTiles {
      while jr + 2 * nr <= fullPanelColumns {
        GEMMMicroKernel.doubleTileReadingAInPlace(
          k: kc, a: a + pc, lda: lda, b: b + pc * ldb + jr, ldb: ldb, alpha: alpha, beta: betaHere, c: c + jr, ldc: ldc)
        jr += 2 * nr
      }
      if jr < fullPanelColumns {
        GEMMMicroKernel.wideTileReadingAInPlace(
          rows: 16, k: kc, a: a + pc, lda: lda, b: b + pc * ldb + jr, ldb: ldb, alpha: alpha, beta: betaHere,
          c: c + jr, ldc: ldc)
        jr += nr
      }
      if jr == n {
        pc += kc
        continue
      }
    }
    packA(transposed: transA == .transpose, a: transA == .transpose ? a + pc * lda : a + pc, lda: lda, mc: m, kc: kc, into: packedA)
    while jr < n {
      let columns = min(nr, n - jr)
      let source = b + pc * ldb + jr
      if columns < nr { packB(transposed: false, b: source, ldb: ldb, kc: kc, nc: columns, into: packedB) }
      var ir = 0
      while ir < m {
        let rows = min(mr, m - ir)
        let aPanel = UnsafePointer(packedA + ir * kc)
        let cTile = c + ir * ldc + jr
        if twelveRowTiles && columns == nr && m - ir >= 2 * mr {
          GEMMMicroKernel.tile12(
            k: kc, packedA: aPanel, packedB: source, ldb: ldb, alpha: alpha, beta: betaHere, c: cTile, ldc: ldc)
          ir += 2 * mr
          continue
        }
        // Full panels in place (stride ldb); the partial one packed above.
        multiplyTile(
          rows: rows, columns: columns, k: kc, packedA: aPanel, b: columns == nr ? source : UnsafePointer(packedB),
          ldb: columns == nr ? ldb : nr, alpha: alpha, beta: betaHere, c: cTile, ldc: ldc, edgeTile: edgeTile)
        ir += mr
      }
      jr += nr
    }
    pc += kc
  }
}

/// A product small enough to need no blocking (attention heads at 16 tokens:
/// 16×16×16, 16×64×16, 16×16×64), on the calling thread with stack buffers:
/// the general path's fork/join, scratch-arena lookups and packing of A cost
/// more than the arithmetic here (0.85× OpenBLAS over a batch of 12). Full
/// 6-row tiles read A in place; the remaining rows are packed; B is read in
/// place when untransposed and its panels are whole, else packed (8×8
/// register transposes for Bᵀ). Each element of C is summed over k in the
/// same order as on the general path, so results are identical.
@inline(never)
private func smallSGEMM(
  transB: Transpose, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let mr = GEMMMicroKernel.rows, nr = GEMMMicroKernel.columns
  let panels = (n + nr - 1) / nr
  let readsBInPlace = transB == .noTranspose
  // The attention heads' commonest product on AVX-512 (16 rows, whole panels
  // of an untransposed B) needs no scratch: skip the per-thread lookup.
  if GEMMMicroKernel.hasTwelveRowTile && m == 16 && readsBInPlace && n % nr == 0 {
    var j0 = 0
    while j0 + 2 * nr <= n {
      GEMMMicroKernel.doubleTileReadingAInPlace(
        k: k, a: a, lda: lda, b: b + j0, ldb: ldb, alpha: alpha, beta: beta, c: c + j0, ldc: ldc)
      j0 += 2 * nr
    }
    if j0 < n {
      GEMMMicroKernel.wideTileReadingAInPlace(
        rows: 16, k: k, a: a, lda: lda, b: b + j0, ldb: ldb, alpha: alpha, beta: beta, c: c + j0, ldc: ldc)
    }
    return
  }
  // Per-thread scratch: a temporary allocation of this size would come from the heap.
  do {
    // Read in place, B needs at most its partial last panel packed.
    let packedPanels = readsBInPlace ? (n % nr == 0 ? 0 : 1) : panels
    // With the 12-row tile (AVX-512), rows 0..<12 of full panels go through
    // it, read in place: twelve FMA chains instead of six.
    let twelveRowTile = GEMMMicroKernel.hasTwelveRowTile && m >= 2 * mr
    let packedB = ScratchArena.current.buffer(.smallProductPanels, count: packedPanels * nr * k + mr * k + mr * nr, of: Float.self)
    let stagedA = packedB + packedPanels * nr * k, edgeTile = stagedA + mr * k
    if readsBInPlace {
      // Only a partial last panel needs packing (zero-padded).
      if n % nr != 0 { packB(transposed: false, b: b + (panels - 1) * nr, ldb: ldb, kc: k, nc: n % nr, into: packedB) }
    } else {
      packB(transposed: true, b: b, ldb: ldb, kc: k, nc: n, into: packedB)
    }
    let fullRows = m / mr * mr
    // With m = 16 on AVX-512 the 16-row tile reads every row in place; only
    // an edge panel still needs the last rows packed.
    let sixteenRowTile = twelveRowTile && m == 16
    if fullRows < m && !(sixteenRowTile && n % nr == 0) { packA(transposed: false, a: a + fullRows * lda, lda: lda, mc: m - fullRows, kc: k, into: stagedA) }
    for panel in 0..<panels {
      let j0 = panel * nr, columns = min(nr, n - j0)
      let panelB: UnsafePointer<Float>, panelStride: Int
      if readsBInPlace && columns == nr {
        (panelB, panelStride) = (b + j0, ldb)
      } else {
        (panelB, panelStride) = (UnsafePointer(readsBInPlace ? packedB : packedB + panel * nr * k), nr)
      }
      var i0 = 0
      if twelveRowTile && columns == nr {
        if sixteenRowTile {
          GEMMMicroKernel.wideTileReadingAInPlace(
            rows: 16, k: k, a: a, lda: lda, b: panelB, ldb: panelStride, alpha: alpha, beta: beta, c: c + j0, ldc: ldc)
          continue
        }
        GEMMMicroKernel.wideTileReadingAInPlace(
          rows: 12, k: k, a: a, lda: lda, b: panelB, ldb: panelStride, alpha: alpha, beta: beta, c: c + j0, ldc: ldc)
        i0 = 2 * mr
      }
      while i0 < m {
        let rows = min(mr, m - i0)
        let target = columns == nr ? c + i0 * ldc + j0 : edgeTile
        let targetStride = columns == nr ? ldc : nr
        let targetBeta: Float = columns == nr ? beta : 0
        if rows == mr {
          GEMMMicroKernel.tile6ReadingAInPlace(
            k: k, a: a + i0 * lda, lda: lda, b: panelB, ldb: panelStride, alpha: alpha, beta: targetBeta, c: target,
            ldc: targetStride)
        } else {
          GEMMMicroKernel.tile(
            dynamicRows: rows, k: k, packedA: UnsafePointer(stagedA), packedB: panelB, ldb: panelStride, alpha: alpha,
            beta: targetBeta, c: target, ldc: targetStride)
        }
        if columns < nr { mergeEdgeTile(edgeTile, rows: rows, columns: columns, beta: beta, into: c + i0 * ldc + j0, ldc: ldc) }
        i0 += mr
      }
    }
  }
}

/// One micro-tile of C: straight into C for a full 16-column panel, or into
/// the edge tile and then copied for the last, narrower one (the micro-kernel
/// always writes 16 columns).
@inline(__always)
internal func multiplyTile(
  rows: Int, columns: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
  alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, edgeTile: UnsafeMutablePointer<Float>
) {
  let nr = GEMMMicroKernel.columns
  if columns == nr {
    GEMMMicroKernel.tile(dynamicRows: rows, k: k, packedA: packedA, packedB: b, ldb: ldb, alpha: alpha, beta: beta, c: c, ldc: ldc)
    return
  }
  GEMMMicroKernel.tile(dynamicRows: rows, k: k, packedA: packedA, packedB: b, ldb: ldb, alpha: alpha, beta: 0, c: edgeTile, ldc: nr)
  mergeEdgeTile(edgeTile, rows: rows, columns: columns, beta: beta, into: c, ldc: ldc)
}

/// C[0..<rows, 0..<columns] = edge + beta·C for a 16-column edge tile the
/// micro-kernel wrote with beta 0 (C not read when beta is 0).
@inline(__always)
internal func mergeEdgeTile(
  _ edgeTile: UnsafePointer<Float>, rows: Int, columns: Int, beta: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
) {
  let nr = GEMMMicroKernel.columns
  for i in 0..<rows {
    let target = c + i * ldc, source = edgeTile + i * nr
    for j in 0..<columns { target[j] = beta == 0 ? source[j] : source[j] + beta * target[j] }
  }
}
