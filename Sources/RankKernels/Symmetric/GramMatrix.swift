import _RankKernelsAVX512

/// The Gram matrix G = X·Xᵀ (`rows × rows`, Float64) of a Float32 matrix X
/// (`rows × columns`, row-major, leading dimension `ldx`).
///
/// Products of Float32 numbers are exact in Float64, so the only error is the
/// Float64 summation: |ΔG_ij| ≤ γ_columns·Σ_k |x_ik·x_jk| with γ ≈ columns·2⁻⁵³.
/// That is why the sketch engine and the fast rank metrics factor the Gram
/// matrix instead of X: for 16 tokens of width 768 it is ten times cheaper than
/// Householder QR, and a factor F with F·Fᵀ = X·Xᵀ is all that
/// X·(Gaussian W) needs, while eigenvalues of G give σ(X)² to an absolute
/// error near columns·2⁻⁵³·σ₁², i.e. σ resolved down to about √(columns·2⁻⁵³)·σ₁
/// (≈ 3e-7·σ₁ for 768 columns, worst case; typically smaller).
///
/// Both triangles of `gram` (leading dimension `ldg` ≥ rows) are written.
/// Single-threaded; per-thread scratch of `rows × 128` doubles. Where the
/// AVX-512 kernels run, the accumulation runs at zmm width with the same
/// per-element sums (bit-identical).
public func gramMatrix(
  rows n: Int, columns k: Int, x: UnsafePointer<Float>, ldx: Int,
  gram: UnsafeMutablePointer<Double>, ldg: Int
) {
  let kernel: StaticString = "gramMatrix"
  requireNonNegative(kernel, "rows", n)
  requireNonNegative(kernel, "columns", k)
  requireLeadingDimension(kernel, "ldx", ldx, columns: k, of: "X")
  requireLeadingDimension(kernel, "ldg", ldg, columns: n, of: "G")
  for i in 0..<n { (gram + i * ldg).update(repeating: 0, count: n) }
  if n == 0 || k == 0 { return }
  // Widen a block of columns of every row once, so that the n(n+1)/2 inner
  // products read Float64 from L1 (16 rows × 128 × 8 bytes = 16 KiB, half
  // of L1 so the Float32 source streams past without evicting it).
  let chunk = 128
  let wide = ScratchArena.current.buffer(.factorization, count: n * chunk, of: Double.self)
  var start = 0
  while start < k {
    let width = min(chunk, k - start)
    let padded = (width + 7) & ~7
    for i in 0..<n {
      let source = x + i * ldx + start, target = wide + i * padded
      for j in 0..<width { target[j] = Double(source[j]) }
      for j in width..<padded { target[j] = 0 }
    }
    #if arch(x86_64)
    if CPUFeatures.runsAVX512Kernels {
      AVX512Gram.accumulate(rows: n, wide: wide, width: padded, gram: gram, ldg: ldg)
    } else {
      accumulateGram(rows: n, wide: wide, width: padded, gram: gram, ldg: ldg)
    }
    #else
    accumulateGram(rows: n, wide: wide, width: padded, gram: gram, ldg: ldg)
    #endif
    start += width
  }
  for i in 0..<n { for j in 0..<i { gram[i * ldg + j] = gram[j * ldg + i] } }
}

/// Adds the inner products of the widened rows (each `width` long, a multiple
/// of 8) to the upper triangle of `gram`, three rows by two rows: the five
/// vectors loaded per step feed six FMAs, so the loop is bound by the FMA
/// pipes rather than by loads (two rows by two, four loads fed four FMAs:
/// half the FMA rate on Zen 3, which loads two 256-bit vectors per cycle).
/// Each product keeps two accumulators (`s` for the first 32 bytes of every
/// 64, `t` for the second) so the FMA latency does not bound the loop, and
/// every element is summed in the same order whatever rows share its block.
@inline(__always)
private func accumulateGram(rows n: Int, wide: UnsafeMutablePointer<Double>, width: Int, gram: UnsafeMutablePointer<Double>, ldg: Int) {
  typealias Vector = SIMD4<Double>
  let raw = UnsafeRawPointer(wide)
  let rowBytes = width &* 8
  var i = 0
  while i < n {
    // Rows past the end repeat the last one; their sums are not written.
    let i1 = min(i + 1, n - 1), i2 = min(i + 2, n - 1)
    let a0 = raw + i &* rowBytes, a1 = raw + i1 &* rowBytes, a2 = raw + i2 &* rowBytes
    var j = i
    while j < n {
      let j1 = min(j + 1, n - 1)
      let b0 = raw + j &* rowBytes, b1 = raw + j1 &* rowBytes
      var s00 = Vector(), s01 = Vector(), s10 = Vector(), s11 = Vector(), s20 = Vector(), s21 = Vector()
      var t00 = Vector(), t01 = Vector(), t10 = Vector(), t11 = Vector(), t20 = Vector(), t21 = Vector()
      var offset = 0
      while offset < rowBytes {
        let y0 = b0.load(fromByteOffset: offset, as: Vector.self), y1 = b1.load(fromByteOffset: offset, as: Vector.self)
        let x0 = a0.load(fromByteOffset: offset, as: Vector.self)
        s00.addProduct(x0, y0); s01.addProduct(x0, y1)
        let x1 = a1.load(fromByteOffset: offset, as: Vector.self)
        s10.addProduct(x1, y0); s11.addProduct(x1, y1)
        let x2 = a2.load(fromByteOffset: offset, as: Vector.self)
        s20.addProduct(x2, y0); s21.addProduct(x2, y1)
        let v0 = b0.load(fromByteOffset: offset &+ 32, as: Vector.self), v1 = b1.load(fromByteOffset: offset &+ 32, as: Vector.self)
        let u0 = a0.load(fromByteOffset: offset &+ 32, as: Vector.self)
        t00.addProduct(u0, v0); t01.addProduct(u0, v1)
        let u1 = a1.load(fromByteOffset: offset &+ 32, as: Vector.self)
        t10.addProduct(u1, v0); t11.addProduct(u1, v1)
        let u2 = a2.load(fromByteOffset: offset &+ 32, as: Vector.self)
        t20.addProduct(u2, v0); t21.addProduct(u2, v1)
        offset &+= 64
      }
      // Write (row, column) only for distinct real rows on or above the diagonal.
      @inline(__always) func add(_ sum: Vector, row: Int, rowIsReal: Bool, column: Int, columnIsReal: Bool) {
        if rowIsReal && columnIsReal && column >= row { gram[row * ldg + column] += sum.sum() }
      }
      let second = j1 > j
      add(s00 + t00, row: i, rowIsReal: true, column: j, columnIsReal: true)
      add(s01 + t01, row: i, rowIsReal: true, column: j1, columnIsReal: second)
      add(s10 + t10, row: i1, rowIsReal: i1 > i, column: j, columnIsReal: true)
      add(s11 + t11, row: i1, rowIsReal: i1 > i, column: j1, columnIsReal: second)
      add(s20 + t20, row: i2, rowIsReal: i2 > i1, column: j, columnIsReal: true)
      add(s21 + t21, row: i2, rowIsReal: i2 > i1, column: j1, columnIsReal: second)
      j += 2
    }
    i += 3
  }
}
