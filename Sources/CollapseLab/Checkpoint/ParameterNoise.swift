import RankKernels

/// One sample's perturbation of a checkpoint (claim 3's neighbourhood,
/// `--perturb ε`): T + ε·rms(T)·G for every tensor T, G iid N(0, 1) from the
/// stream of (seed, sample, T's index: `BertTensor.index` in BERT's stored
/// layout, `HeldTensor.index` in a `TrainedTransformer`'s held one), entry k of T's row-major layout at
/// counter k. Rows can be perturbed one at a time (an embedding row per
/// token) with the numbers the whole tensor would get. A `TrainedTransformer`
/// is perturbed at its held positions, not its stored ones, so that the GGUF
/// and safetensors files of one model (fused or split Q/K/V, permuted rows,
/// [in, out] or [out, in]) get the same noise.
struct ParameterNoise {
  let sample: UInt64, seed: UInt64, size: Double
  /// rms(T) by tensor index (0 for an index without one).
  let rootMeanSquare: (Int) -> Double

  init(sample: UInt64, seed: UInt64, size: Double, rootMeanSquare: @escaping (Int) -> Double) {
    self.sample = sample; self.seed = seed; self.size = size; self.rootMeanSquare = rootMeanSquare
  }

  /// The noise of a `TrainedTransformer`, whose rms values are keyed by `HeldTensor.index`.
  init(sample: UInt64, seed: UInt64, size: Double, rootMeanSquares: [Int: Double]) {
    self.init(sample: sample, seed: seed, size: size) { rootMeanSquares[$0] ?? 0 }
  }

  /// ε·rms(T) for the tensor of index `index`: the standard deviation of its noise.
  func scale(index: Int) -> Float { Float(size * rootMeanSquare(index)) }

  /// The stream of normals of the tensor of index `index`.
  func stream(index: Int) -> RandomStream {
    parameterStream(seed: seed, sample: sample, tensorIndex: index)
  }

  /// Adds the noise of rows firstRow ..< firstRow + values.count/columns of
  /// a BERT tensor (stored layout, row-major, `columns` wide) to `values`.
  func perturbRows(_ values: inout [Float], tensor: BertTensor, firstRow: Int, columns: Int) {
    perturbRows(&values, index: tensor.index, firstRow: firstRow, columns: columns)
  }

  /// Adds the noise of rows firstRow ..< firstRow + values.count/columns of
  /// a `TrainedTransformer` tensor (held layout, row-major) to `values`.
  func perturbRows(_ values: inout [Float], tensor: HeldTensor, firstRow: Int, columns: Int) {
    perturbRows(&values, index: tensor.index, firstRow: firstRow, columns: columns)
  }

  private func perturbRows(_ values: inout [Float], index: Int, firstRow: Int, columns: Int) {
    let s = scale(index: index), count = values.count
    guard count > 0 else { return }
    var g = [Float](repeating: 0, count: count)
    g.withUnsafeMutableBufferPointer {
      stream(index: index).fillNormal($0.baseAddress!, count: count, startingAt: UInt64(firstRow * columns))
    }
    for i in 0..<count { values[i] += s * g[i] }
  }
}
