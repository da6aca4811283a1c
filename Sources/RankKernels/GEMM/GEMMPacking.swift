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

/// Packs depth `0..<kc` and columns `0..<nc` of op(B) into panels of
/// `GEMMMicroKernel.columns` columns: panel `j` holds, for each p, the 16
/// elements of row p contiguously.
@inline(__always)
internal func packB(
  transposed: Bool, b: UnsafePointer<Float>, ldb: Int, kc: Int, nc: Int,
  into packed: UnsafeMutablePointer<Float>
) {
  let nr = GEMMMicroKernel.columns
  var destination = packed
  var column = 0
  while column < nc {
    let columnsHere = min(nr, nc - column)
    if !transposed {
      // op(B)[p, j] = b[p*ldb + j]: each row segment is contiguous.
      if columnsHere == nr {
        for p in 0..<kc {
          let source = UnsafeRawPointer(b + p * ldb + column)
          let target = UnsafeMutableRawPointer(destination)
          target.storeBytes(of: source.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
          target.storeBytes(
            of: source.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
            toByteOffset: 32, as: SIMD8<Float>.self)
          destination += nr
        }
      } else {
        for p in 0..<kc {
          let source = b + p * ldb + column
          for j in 0..<nr { destination[j] = j < columnsHere ? source[j] : 0 }
          destination += nr
        }
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: walk each of the 16 source rows along p.
      for j in 0..<nr {
        if j < columnsHere {
          let source = b + (column + j) * ldb
          for p in 0..<kc { destination[p * nr + j] = source[p] }
        } else {
          for p in 0..<kc { destination[p * nr + j] = 0 }
        }
      }
      destination += kc * nr
    }
    column += nr
  }
}
