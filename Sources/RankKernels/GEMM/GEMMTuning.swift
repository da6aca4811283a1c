/// Cache-blocking parameters and crossovers of the Swift GEMM, in one place so
/// that benchmarks can see (and a future autotuner can change) them.
///
/// Values for AMD Zen 1 (32 KiB L1d, 512 KiB L2 per core, 8 MiB L3 shared),
/// from BLIS's `config/zen` block sizes and measurement on that machine:
/// a k×16 packed B micro-panel (16 KiB at KC = 256) stays in L1 while the
/// MC×KC packed A block (144 KiB) streams from L2.
public enum GEMMTuning {
  /// KC: depth of one packed block (the k extent of a micro-kernel call).
  public static let depthBlock = Int(getenvString("RK_KC") ?? "") ?? 256
  /// MC: rows of op(A) packed at once; a multiple of the tile's 6 rows.
  public static let rowBlock = Int(getenvString("RK_MC") ?? "") ?? 144
  /// NC: columns of op(B) packed at once; a multiple of the tile's 16 columns.
  public static let columnBlock = Int(getenvString("RK_NC") ?? "") ?? 3072
  /// When all of M fits in one MC block, B is packed just in time in chunks
  /// of this many 16-column panels (128 columns: 8 adjacent cache lines per
  /// source row, 128 KiB at KC = 256, resident in L2).
  public static let panelsPerChunk = Int(getenvString("RK_CHUNK") ?? "") ?? 8
  /// Below this many multiply-adds (m·n·k) a product runs on one thread:
  /// the dispatch hand-off would cost more than it saves.
  public static let parallelThreshold = 1 << 18
}
