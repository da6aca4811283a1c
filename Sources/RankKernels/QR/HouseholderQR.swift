internal func swiftHouseholderQR(
  m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
  r: UnsafeMutablePointer<Float>, ldr: Int,
  q: UnsafeMutablePointer<Float>?, ldq: Int
) { fatalError("todo") }
