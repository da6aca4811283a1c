/// Cache-blocking parameters and crossovers of the Swift GEMM, in one place so
/// that benchmarks can see (and a future autotuner can change) them.
///
/// Chosen by measurement on AMD Zen 3 (32 KiB L1d and 512 KiB L2 per core),
/// starting from BLIS's `config/zen` sizes: a KC×16 packed B micro-panel
/// (24 KiB at KC = 384) stays in L1 while 6×KC A micro-panels (9 KiB) stream
/// from the MC×KC packed A block in L2. KC = 384 beat 256 and 768 on the
/// BERT shapes (PERF.md); NC = 3072 covers every BERT width in one block.
public enum GEMMTuning {
  /// KC: depth of one packed block (the k extent of a micro-kernel call).
  public static let depthBlock = 384
  /// MC: rows of op(A) packed at once; a multiple of the tile's 6 rows.
  public static let rowBlock = 144
  /// NC: columns of op(B) packed at once; a multiple of the tile's 16 columns.
  public static let columnBlock = 3072
  /// When all of M fits in one MC block, B is packed just in time in chunks
  /// of this many 16-column panels (128 columns: 8 adjacent cache lines per
  /// source row, 128 KiB at KC = 256, resident in L2).
  public static let panelsPerChunk = 8
  /// Below this many multiply-adds (m·n·k) a product runs on one thread:
  /// the dispatch hand-off would cost more than it saves.
  public static let parallelThreshold = 1 << 18
  /// Up to this many rows of C, full 16-column panels of an untransposed B
  /// are read in place instead of packed (each panel feeds at most four
  /// 6-row tiles, too few to repay the copy).
  public static let inPlaceBRowLimit = 24
  /// Products with at most `inPlaceBRowLimit` rows, this many columns and
  /// this depth take the unblocked small-product path (stack buffers, no
  /// fork/join): attention heads at 16 tokens.
  public static let smallProductColumns = 64
  public static let smallProductDepth = 64
}
