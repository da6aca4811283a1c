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
  /// When set (with `rowOrder`), products keep L's row order instead of
  /// moving row i to rowOrder[i]: for a caller that only needs the product's
  /// rows up to a permutation it tracks itself (the Gram engine's MLP).
  var productsInPivotOrder = false
  init(matrix: [Float], rows: Int, nonzeroColumns: Int? = nil, rowOrder: [Int]? = nil) {
    self.matrix = matrix
    self.rows = rows
    self.nonzeroColumns = nonzeroColumns ?? matrix.count / max(rows, 1)
    self.rowOrder = rowOrder
  }
  var inner: Int { matrix.count / max(rows, 1) }

  /// The pivoted Cholesky factor of a Gram matrix Y·Yᵀ (rows × rows,
  /// Float64): L in pivot order, rounded to Float32, and its rank. Its
  /// arrays come from the thread's `RecycledArrays`.
  ///
  /// With `tokens`, Y's row i is token `tokens[i]` (a product left in pivot
  /// order), and the factor's rows name tokens through it: the Gram matrix of
  /// the permuted rows holds the same entries and the pivoted Cholesky picks
  /// the same pivots, so this is the factor of the token-ordered Y (up to
  /// exact ties between diagonal entries).
  init(factoring gram: UnsafePointer<Double>, rows n: Int, tokens: [Int]? = nil) {
    let (lower, order, nonzero) = RecycledArrays.current.factor(rows: n) { lower, order in
      let rank = Self.factor(gram, rows: n, lower: lower, order: order)
      if let tokens { for i in 0..<n { order[i] = tokens[order[i]] } }
      return rank
    }
    self.init(matrix: lower, rows: n, nonzeroColumns: nonzero, rowOrder: order)
  }

  init(factoring gram: [Double], rows n: Int) {
    self = gram.withUnsafeBufferPointer { ProjectionOperand(factoring: $0.baseAddress!, rows: n) }
  }

  /// The factor of Y·Yᵀ for Y (rows × columns, row-major), its Gram matrix
  /// formed in per-thread scratch; `tokens` as in ``init(factoring:rows:tokens:)``.
  init(factoringRowsOf y: UnsafePointer<Float>, rows n: Int, columns k: Int, tokens: [Int]? = nil) {
    let gram = SampleScratch.current.buffer(.operandGram, count: n * n, of: Double.self)
    gramMatrix(rows: n, columns: k, x: y, ldx: k, gram: gram, ldg: max(1, n))
    self.init(factoring: gram, rows: n, tokens: tokens)
  }

  /// Factors the Gram matrix `gram` (n × n, Float64) into `lower` (n × n,
  /// Float32, pivot order) and `order`; returns the factor's nonzero
  /// columns: its rank, or n when the Gram matrix is not finite (an all-NaN
  /// factor, which must still reach the products: NaN in, NaN out).
  static func factor(
    _ gram: UnsafePointer<Double>, rows n: Int, lower: UnsafeMutablePointer<Float>, order: UnsafeMutablePointer<Int>
  ) -> Int {
    let wide = SampleScratch.current.buffer(.choleskyLower, count: n * n, of: Double.self)
    let rank = pivotedCholesky(n: n, a: gram, lda: n, lower: wide, ldl: n, order: order)
    for i in 0..<(n * n) { lower[i] = Float(wide[i]) }
    return n > 0 && wide[0].isNaN ? n : rank
  }

  /// Writes the operand with its rows in token order (F = Pᵀ·L for a
  /// triangular factor) to `target` (rows × inner).
  func copyInTokenOrder(to target: UnsafeMutablePointer<Float>) {
    let width = inner
    matrix.withUnsafeBufferPointer { source in
      guard let rowOrder else { return target.update(from: source.baseAddress!, count: source.count) }
      for i in 0..<rows { (target + rowOrder[i] * width).update(from: source.baseAddress! + i * width, count: width) }
    }
  }

  /// operand · W for W (`nonzeroColumns` × columns): a triangular factor as
  /// Pᵀ·(L·W), with half the multiply-adds, anything else as a general product.
  func times(_ w: [Float], columns: Int) -> [Float] {
    w.withUnsafeBufferPointer { w in uninitializedFloats(rows * columns) { times(w.baseAddress!, columns: columns, into: $0) } }
  }

  /// ``times(_:columns:)`` written to `product` (rows × columns).
  func times(_ w: UnsafePointer<Float>, columns: Int, into product: UnsafeMutablePointer<Float>) {
    let inner = nonzeroColumns
    guard let rowOrder else {
      sgemm(m: rows, n: columns, k: inner, a: matrix, lda: self.inner, b: w, ldb: columns, c: product, ldc: columns, threads: 1)
      return
    }
    let width = self.inner
    lowerTriangularProduct(m: rows, n: columns, k: inner, a: matrix, lda: width, b: w, ldb: columns, c: product, ldc: columns, threads: 1)
    if !productsInPivotOrder { permuteRowsInPlace(product, rows: rows, columns: columns, to: rowOrder) }
  }
}

/// Moves row i to row order[i] along the permutation's cycles, with one
/// row's carry in per-thread scratch (no second matrix: at n = 128 a fresh
/// one cost page faults).
func permuteRowsInPlace(_ matrix: UnsafeMutablePointer<Float>, rows: Int, columns width: Int, to order: [Int]) {
  let scratch = SampleScratch.current
  let placed = scratch.buffer(.permutationPlaced, count: rows, of: Bool.self)
  let carried = scratch.buffer(.permutationRows, count: 2 * width, of: Float.self), swapped = carried + width
  placed.initialize(repeating: false, count: rows)
  for start in 0..<rows where !placed[start] && order[start] != start {
    carried.update(from: matrix + start * width, count: width)
    var i = start
    repeat {
      let target = order[i]
      swapped.update(from: matrix + target * width, count: width)
      (matrix + target * width).update(from: carried, count: width)
      carried.update(from: swapped, count: width)
      placed[i] = true
      i = target
    } while i != start
  }
}
