import _RankKernelsCPU

/// Requests `row[0..<count]` into cache, one request per 16 floats (a 64-byte
/// line). For rows a large stride apart, each in its own page, where the
/// hardware prefetchers do not follow.
@inline(__always)
internal func requestCacheLines(of row: UnsafePointer<Float>, count: Int) {
  var offset = 0
  while offset < count {
    rankkernels_prefetch(row + offset)
    offset += 16
  }
}
