import RankKernels

/// An activation matrix made ready for products: Y itself (dense), or a
/// factor F (rows × rows) with F·Fᵀ = Y·Yᵀ (sketch).
struct ProjectionOperand {
  /// Y, F, or (with `rowOrder`) the lower-triangular L of F = Pᵀ·L.
  var matrix: [Float]
  var rows: Int
  /// Leading columns of `matrix` that can be nonzero: a rank-r factor's
  /// columns from r on are zero, so its products need only r inner terms.
  var nonzeroColumns: Int
  /// When set, `matrix` is L and row i of L is row rowOrder[i] of F.
  var rowOrder: [Int]?
  init(matrix: [Float], rows: Int, nonzeroColumns: Int? = nil, rowOrder: [Int]? = nil) {
    self.matrix = matrix
    self.rows = rows
    self.nonzeroColumns = nonzeroColumns ?? matrix.count / max(rows, 1)
    self.rowOrder = rowOrder
  }
  var inner: Int { matrix.count / max(rows, 1) }

  /// The pivoted Cholesky factor of a Gram matrix Y·Yᵀ (rows × rows,
  /// Float64): L in pivot order, rounded to Float32, and its rank.
  init(factoring gram: [Double], rows n: Int) {
    var lower = [Double](repeating: 0, count: n * n), order = [Int](repeating: 0, count: n)
    let rank = lower.withUnsafeMutableBufferPointer { l in
      order.withUnsafeMutableBufferPointer { pivotedCholesky(n: n, a: gram, lda: n, lower: l.baseAddress!, ldl: n, order: $0.baseAddress!) }
    }
    // A non-finite Gram matrix gives rank 0 and an all-NaN factor, which
    // must still reach the products (NaN in, NaN out).
    let nonzero = lower[0].isNaN ? n : rank
    self.init(matrix: lower.map { Float($0) }, rows: n, nonzeroColumns: nonzero, rowOrder: order)
  }

  /// The operand with its rows in token order (F = Pᵀ·L for a triangular factor).
  var inTokenOrder: [Float] {
    guard let rowOrder else { return matrix }
    return permutingRows(matrix, rows: rows, to: rowOrder)
  }

  /// operand · W for W (`nonzeroColumns` × columns): a triangular factor as
  /// Pᵀ·(L·W), with half the multiply-adds, anything else as a general product.
  func times(_ w: [Float], columns: Int) -> [Float] {
    let inner = nonzeroColumns
    guard let rowOrder else { return project(matrix, rows: rows, w, columns: columns, inner: inner) }
    let width = self.inner
    var product = uninitializedFloats(rows * columns) { out in
      lowerTriangularProduct(m: rows, n: columns, k: inner, a: matrix, lda: width, b: w, ldb: columns, c: out, ldc: columns, threads: 1)
    }
    permuteRowsInPlace(&product, rows: rows, to: rowOrder)
    return product
  }
}

/// Row i of `matrix` moved to row order[i].
func permutingRows(_ matrix: [Float], rows: Int, to order: [Int]) -> [Float] {
  var result = matrix
  permuteRowsInPlace(&result, rows: rows, to: order)
  return result
}

/// Moves row i to row order[i] along the permutation's cycles, one row of
/// scratch (no second matrix: at n = 128 a fresh one cost page faults).
func permuteRowsInPlace(_ matrix: inout [Float], rows: Int, to order: [Int]) {
  let width = matrix.count / max(rows, 1)
  withUnsafeTemporaryAllocation(of: Bool.self, capacity: rows) { placedBuffer in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { rowBuffer in
      let placed = placedBuffer.baseAddress!, carried = rowBuffer.baseAddress!, swapped = carried + width
      placed.initialize(repeating: false, count: rows)
      matrix.withUnsafeMutableBufferPointer { buffer in
        let base = buffer.baseAddress!
        for start in 0..<rows where !placed[start] && order[start] != start {
          carried.update(from: base + start * width, count: width)
          var i = start
          repeat {
            let target = order[i]
            swapped.update(from: base + target * width, count: width)
            (base + target * width).update(from: carried, count: width)
            carried.update(from: swapped, count: width)
            placed[i] = true
            i = target
          } while i != start
        }
      }
    }
  }
}

