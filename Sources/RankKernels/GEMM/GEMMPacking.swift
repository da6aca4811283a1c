// Packing copies blocks of op(A) and op(B) into the contiguous, k-major
// micro-panel layout the micro-kernel streams through. Edges are zero-padded to
// whole tiles, so the micro-kernel never needs a masked variant: padded rows and
// columns compute zeros that are simply not stored.

/// Packs rows `0..<mc` and depth `0..<kc` of op(A) into panels of
/// `GEMMMicroKernel.rows` rows: panel `i` holds, for each p, the rows'
/// elements at depth p contiguously.
@inline(__always)
internal func packA(
  transposed: Bool, a: UnsafePointer<Float>, lda: Int, mc: Int, kc: Int,
  into packed: UnsafeMutablePointer<Float>
) {
  let mr = GEMMMicroKernel.rows
  var destination = packed
  var row = 0
  while row < mc {
    let rowsHere = min(mr, mc - row)
    if !transposed {
      // op(A)[i, p] = a[i*lda + p]: gather one element from each of mr rows.
      if rowsHere == mr {
        let r0 = a + row * lda, r1 = r0 + lda, r2 = r1 + lda
        let r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda
        for p in 0..<kc {
          destination[0] = r0[p]; destination[1] = r1[p]; destination[2] = r2[p]
          destination[3] = r3[p]; destination[4] = r4[p]; destination[5] = r5[p]
          destination += mr
        }
      } else {
        for p in 0..<kc {
          for r in 0..<mr { destination[r] = r < rowsHere ? a[(row + r) * lda + p] : 0 }
          destination += mr
        }
      }
    } else {
      // op(A)[i, p] = a[p*lda + i]: the mr elements at depth p are contiguous.
      for p in 0..<kc {
        let source = a + p * lda + row
        for r in 0..<mr { destination[r] = r < rowsHere ? source[r] : 0 }
        destination += mr
      }
    }
    row += mr
  }
}

/// How many source rows ahead `packB` requests. Rows are ldb apart, mostly
/// in different 4 KiB pages, where the hardware prefetchers do not follow, so
/// without this every row was a fresh L3 miss (8 and 16 measured alike).
let packBPrefetchRows = 8

/// Packs depth `0..<kc` and columns `0..<nc` of op(B) into panels of
/// `GEMMMicroKernel.columns` columns: panel `j` holds, for each p, the 16
/// elements of row p contiguously.
@inline(__always)
internal func packB(
  transposed: Bool, b: UnsafePointer<Float>, ldb: Int, kc: Int, nc: Int,
  into packed: UnsafeMutablePointer<Float>
) {
  let nr = GEMMMicroKernel.columns
  var column = 0
  if !transposed {
    // op(B)[p, j] = b[p*ldb + j]: row segments are contiguous. Row-outer over
    // all full panels, so each source row is read once as adjacent cache
    // lines. Panel-outer re-walked all kc rows per panel: at ldb = 3072 those
    // rows are 12 KiB apart, all in one L1 set and 16 L2 sets, so every
    // panel re-read them from L3 (SGEMM 128×768×3072 spent ~25 % packing).
    let fullPanels = nc / nr
    for p in 0..<kc {
      let sourceRow = UnsafeRawPointer(b + p * ldb)
      if p + packBPrefetchRows < kc {
        requestCacheLines(of: b + (p + packBPrefetchRows) * ldb, count: fullPanels * nr)
      }
      for panel in 0..<fullPanels {
        let source = sourceRow + panel * nr * MemoryLayout<Float>.stride
        let target = UnsafeMutableRawPointer(packed + (panel * kc + p) * nr)
        target.storeBytes(of: source.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        target.storeBytes(
          of: source.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
          toByteOffset: 32, as: SIMD8<Float>.self)
      }
    }
    column = fullPanels * nr
  }
  var destination = packed + column * kc
  while column < nc {
    let columnsHere = min(nr, nc - column)
    if !transposed {
      // The last, partial panel, zero-padded.
      for p in 0..<kc {
        let source = b + p * ldb + column
        for j in 0..<nr { destination[j] = j < columnsHere ? source[j] : 0 }
        destination += nr
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: a transpose. Full panels go through 8×8
      // register transposes (attention's keys: half the time of element-wise
      // scatter stores); the depth remainder and a partial panel element-wise.
      var p0 = 0
      if columnsHere == nr {
        while p0 + 8 <= kc {
          let source = b + column * ldb + p0, target = destination + p0 * nr
          transpose8x8(source, sourceStride: ldb, into: target, targetStride: nr)
          transpose8x8(source + 8 * ldb, sourceStride: ldb, into: target + 8, targetStride: nr)
          p0 += 8
        }
      }
      for j in 0..<nr {
        if j < columnsHere {
          let source = b + (column + j) * ldb
          for p in p0..<kc { destination[p * nr + j] = source[p] }
        } else {
          for p in p0..<kc { destination[p * nr + j] = 0 }
        }
      }
      destination += kc * nr
    }
    column += nr
  }
}

/// target[i·targetStride + j] = source[j·sourceStride + i] for i, j < 8: unpack
/// pairs of rows, then pairs of pairs, then swap 128-bit halves (the lane
/// patterns below compile to vunpcklps/vshufps/vperm2f128).
@inline(__always)
private func transpose8x8(
  _ source: UnsafePointer<Float>, sourceStride: Int, into target: UnsafeMutablePointer<Float>, targetStride: Int
) {
  typealias V = SIMD8<Float>
  @inline(__always) func row(_ i: Int) -> V { UnsafeRawPointer(source + i &* sourceStride).loadUnaligned(as: V.self) }
  @inline(__always) func interleaveLow(_ a: V, _ b: V) -> V { V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
  @inline(__always) func interleaveHigh(_ a: V, _ b: V) -> V { V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
  @inline(__always) func pairsLow(_ a: V, _ b: V) -> V { V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
  @inline(__always) func pairsHigh(_ a: V, _ b: V) -> V { V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
  @inline(__always) func store(_ v: V, _ i: Int) {
    UnsafeMutableRawPointer(target + i &* targetStride).storeBytes(of: v, as: V.self)
  }
  let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
  let t0 = interleaveLow(r0, r1), t1 = interleaveHigh(r0, r1), t2 = interleaveLow(r2, r3), t3 = interleaveHigh(r2, r3)
  let t4 = interleaveLow(r4, r5), t5 = interleaveHigh(r4, r5), t6 = interleaveLow(r6, r7), t7 = interleaveHigh(r6, r7)
  let u0 = pairsLow(t0, t2), u1 = pairsHigh(t0, t2), u2 = pairsLow(t1, t3), u3 = pairsHigh(t1, t3)
  let u4 = pairsLow(t4, t6), u5 = pairsHigh(t4, t6), u6 = pairsLow(t5, t7), u7 = pairsHigh(t5, t7)
  store(V(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), 0)
  store(V(lowHalf: u1.lowHalf, highHalf: u5.lowHalf), 1)
  store(V(lowHalf: u2.lowHalf, highHalf: u6.lowHalf), 2)
  store(V(lowHalf: u3.lowHalf, highHalf: u7.lowHalf), 3)
  store(V(lowHalf: u0.highHalf, highHalf: u4.highHalf), 4)
  store(V(lowHalf: u1.highHalf, highHalf: u5.highHalf), 5)
  store(V(lowHalf: u2.highHalf, highHalf: u6.highHalf), 6)
  store(V(lowHalf: u3.highHalf, highHalf: u7.highHalf), 7)
}
