import RankKernels

// Small Float64 linear algebra that the claims experiments share. Sizes are
// at most a few hundred vectors of width d, run a few dozen times per report,
// so the code favours plainness over speed.

/// "k/n (lower–upper)": a count with its 95 % Clopper–Pearson interval, as
/// the claims report's tables give it.
func countWithInterval(_ k: Int, of n: Int) -> String {
  let ci = clopperPearson(successes: k, trials: n)
  return "\(k)/\(n) (\(String(format4: ci.lower))–\(String(format4: ci.upper)))"
}

/// The median of a list (the upper one for even counts); NaN if empty.
func median(_ values: [Double]) -> Double {
  values.isEmpty ? .nan : values.sorted()[values.count / 2]
}

/// ‖M‖₁ (largest absolute column sum) and ‖M‖_∞ (largest absolute row sum)
/// of a row-major Float32 matrix, summed in Float64.
func inducedNorms(_ m: [Float], rows: Int, columns: Int) -> (one: Double, infinity: Double) {
  var columnSums = [Double](repeating: 0, count: columns), largestRow = 0.0
  for i in 0..<rows {
    var rowSum = 0.0
    for j in 0..<columns {
      let value = Double(abs(m[i * columns + j]))
      rowSum += value
      columnSums[j] += value
    }
    largestRow = max(largestRow, rowSum)
  }
  return (columnSums.max() ?? 0, largestRow)
}

/// An orthonormal basis of span(vectors), by classical Gram–Schmidt applied
/// twice ("twice is enough", Giraud et al. 2005) in Float64. A vector whose
/// remainder after both passes is below `relativeTolerance` times its own
/// norm is taken as dependent and dropped, so `result.count` is the
/// numerical dimension of the span.
func orthonormalBasis(of vectors: [[Double]], relativeTolerance: Double = 1e-9) -> [[Double]] {
  var basis: [[Double]] = []
  for vector in vectors {
    let norm = euclideanNorm(vector)
    if norm == 0 { continue }
    var remainder = vector
    for _ in 0..<2 {
      let coefficients = basis.map { dot($0, remainder) }
      for (q, coefficient) in zip(basis, coefficients) {
        for j in remainder.indices { remainder[j] -= coefficient * q[j] }
      }
    }
    let remaining = euclideanNorm(remainder)
    if remaining > relativeTolerance * norm { basis.append(remainder.map { $0 / remaining }) }
  }
  return basis
}

/// ‖X − X·Qᵀ·Q‖_F / ‖X‖_F for the rows of X (`rows × columns`, Float32) and
/// an orthonormal basis Q of a subspace: the share of X (in norm) that lies
/// outside the subspace.
func fractionOutside(_ x: [Float], rows: Int, columns: Int, basis: [[Double]]) -> Double {
  var outside = 0.0, total = 0.0
  for i in 0..<rows {
    var row = (0..<columns).map { Double(x[i * columns + $0]) }
    total += dot(row, row)
    for q in basis {
      let coefficient = dot(q, row)
      for j in row.indices { row[j] -= coefficient * q[j] }
    }
    outside += dot(row, row)
  }
  return total > 0 ? (outside / total).squareRoot() : 0
}

func dot(_ x: [Double], _ y: [Double]) -> Double {
  var sum = 0.0
  for j in x.indices { sum += x[j] * y[j] }
  return sum
}

func euclideanNorm(_ x: [Double]) -> Double { dot(x, x).squareRoot() }

/// Singular values of a row-major Float32 matrix (rows ≤ a few thousand),
/// descending, from the eigenvalues of its Float64 Gram matrix (accurate to
/// about √(columns·2⁻⁵³)·σ₁, plenty for condition numbers below 10⁶).
func singularValues(ofRows m: [Float], rows: Int, columns: Int) -> [Double] {
  singularValuesFromGram(m.withUnsafeBufferPointer { gramOfRows($0.baseAddress!, rows: rows, columns: columns) }, n: rows)
}

/// The columns h·width ..< (h+1)·width of a row-major matrix with `columns` columns.
func columnBlock(_ m: [Float], rows: Int, columns: Int, block h: Int, width: Int) -> [Float] {
  var result: [Float] = []
  result.reserveCapacity(rows * width)
  for i in 0..<rows { result += m[(i * columns + h * width)..<(i * columns + (h + 1) * width)] }
  return result
}

/// W_O,h: the d_k rows of the output projection (d × d, row-major) that head h's output meets.
func outputProjectionBlock(_ output: [Float], head h: Int, headDimension dk: Int, modelDimension d: Int) -> [Float] {
  Array(output[(h * dk * d)..<((h + 1) * dk * d)])
}

/// W_V,h·W_O,h (d × d): head h's value and output projections as one map.
func headValueOutputMap(_ weights: LayerWeights, head h: Int, configuration c: ModelConfiguration) -> [Float] {
  let d = c.modelDimension, dk = c.headDimension
  return project(
    columnBlock(weights.value, rows: d, columns: d, block: h, width: dk), rows: d,
    outputProjectionBlock(weights.output, head: h, headDimension: dk, modelDimension: d), columns: d)
}
