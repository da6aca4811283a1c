// The peak-FMA probe, at any vector width: RankKernels' `MachineProbes` runs it
// at 8 lanes (AVX2), _RankKernelsAVX512 at 16, so that limit analyses divide
// by the peak of the instruction set that runs.

/// Machine-limit probes written once for any `FloatLanes` width.
public enum LaneProbes {
  /// Runs `iterations` steps of 12 independent FMA chains (enough to cover
  /// latency × throughput on cores with two FMA units of this width) and
  /// returns the flop count performed, 12 · `V.scalarCount` · 2 per step.
  @inlinable @inline(__always)
  public static func fmaThroughput<V: FloatLanes>(_: V.Type, iterations: Int) -> (flops: Double, checksum: Float) {
    let x = V(repeating: 0.999_999), y = V(repeating: 1e-7)
    var a0 = V(repeating: 1), a1 = V(repeating: 2), a2 = V(repeating: 3), a3 = V(repeating: 4)
    var a4 = V(repeating: 5), a5 = V(repeating: 6), a6 = V(repeating: 7), a7 = V(repeating: 8)
    var a8 = V(repeating: 9), a9 = V(repeating: 10), a10 = V(repeating: 11), a11 = V(repeating: 12)
    for _ in 0..<iterations {
      a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x); a2 = y.addingProduct(a2, x)
      a3 = y.addingProduct(a3, x); a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
      a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x); a8 = y.addingProduct(a8, x)
      a9 = y.addingProduct(a9, x); a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
    }
    let total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11))
    return (Double(iterations) * 12 * Double(V.scalarCount) * 2, total.sum())
  }
}
