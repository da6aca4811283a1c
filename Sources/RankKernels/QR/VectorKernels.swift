/// Scalars the factorisations run in, with their SIMD inner products.
///
/// Householder QR and one-sided Jacobi are written once, generically; the two
/// level-1 kernels they spend their time in are specialised per type with the
/// widest ymm vector (8 Floats, 4 Doubles) and four independent accumulators.
@usableFromInline
internal protocol FactorizationScalar: BinaryFloatingPoint {
  /// Σ x[i]·y[i] for i in 0..<count.
  static func dot(_ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>, count: Int) -> Self
  /// y[i] += alpha·x[i] for i in 0..<count.
  static func axpy(_ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int)
  /// Applies the plane rotation (x, y) ← (c·x − s·y, s·x + c·y).
  static func rotate(_ x: UnsafeMutablePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int, c: Self, s: Self)
  var doubleValue: Double { get }
}

extension Float: FactorizationScalar {
  @inline(__always) @usableFromInline
  static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
    vectorDot(x, y, count: count, vector: SIMD8<Float>.self)
  }
  @inline(__always) @usableFromInline
  static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    vectorAxpy(alpha, x, y, count: count, vector: SIMD8<Float>.self)
  }
  @inline(__always) @usableFromInline
  static func rotate(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, c: Float, s: Float) {
    vectorRotate(x, y, count: count, c: c, s: s, vector: SIMD8<Float>.self)
  }
  @usableFromInline var doubleValue: Double { Double(self) }
}

extension Double: FactorizationScalar {
  @inline(__always) @usableFromInline
  static func dot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count: Int) -> Double {
    vectorDot(x, y, count: count, vector: SIMD4<Double>.self)
  }
  @inline(__always) @usableFromInline
  static func axpy(_ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
    vectorAxpy(alpha, x, y, count: count, vector: SIMD4<Double>.self)
  }
  @inline(__always) @usableFromInline
  static func rotate(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int, c: Double, s: Double) {
    vectorRotate(x, y, count: count, c: c, s: s, vector: SIMD4<Double>.self)
  }
  @usableFromInline var doubleValue: Double { self }
}

@inline(__always)
private func vectorDot<V: SIMD>(
  _ x: UnsafePointer<V.Scalar>, _ y: UnsafePointer<V.Scalar>, count: Int, vector: V.Type
) -> V.Scalar where V.Scalar: BinaryFloatingPoint {
  let width = V.scalarCount
  let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
  let bytes = MemoryLayout<V.Scalar>.stride
  var s0 = V(), s1 = V(), s2 = V(), s3 = V()
  var i = 0
  while i + 4 * width <= count {
    s0.addProduct(rx.loadUnaligned(fromByteOffset: i * bytes, as: V.self), ry.loadUnaligned(fromByteOffset: i * bytes, as: V.self))
    s1.addProduct(rx.loadUnaligned(fromByteOffset: (i + width) * bytes, as: V.self), ry.loadUnaligned(fromByteOffset: (i + width) * bytes, as: V.self))
    s2.addProduct(rx.loadUnaligned(fromByteOffset: (i + 2 * width) * bytes, as: V.self), ry.loadUnaligned(fromByteOffset: (i + 2 * width) * bytes, as: V.self))
    s3.addProduct(rx.loadUnaligned(fromByteOffset: (i + 3 * width) * bytes, as: V.self), ry.loadUnaligned(fromByteOffset: (i + 3 * width) * bytes, as: V.self))
    i += 4 * width
  }
  while i + width <= count {
    s0.addProduct(rx.loadUnaligned(fromByteOffset: i * bytes, as: V.self), ry.loadUnaligned(fromByteOffset: i * bytes, as: V.self))
    i += width
  }
  let total = (s0 + s1) + (s2 + s3)
  var sum: V.Scalar = 0
  for lane in 0..<width { sum += total[lane] }
  while i < count { sum += x[i] * y[i]; i += 1 }
  return sum
}

@inline(__always)
private func vectorAxpy<V: SIMD>(
  _ alpha: V.Scalar, _ x: UnsafePointer<V.Scalar>, _ y: UnsafeMutablePointer<V.Scalar>, count: Int, vector: V.Type
) where V.Scalar: BinaryFloatingPoint {
  let width = V.scalarCount
  let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
  let bytes = MemoryLayout<V.Scalar>.stride
  let alphaV = V(repeating: alpha)
  var i = 0
  while i + width <= count {
    var target = ry.loadUnaligned(fromByteOffset: i * bytes, as: V.self)
    target.addProduct(alphaV, rx.loadUnaligned(fromByteOffset: i * bytes, as: V.self))
    ry.storeBytes(of: target, toByteOffset: i * bytes, as: V.self)
    i += width
  }
  while i < count { y[i] += alpha * x[i]; i += 1 }
}

@inline(__always)
private func vectorRotate<V: SIMD>(
  _ x: UnsafeMutablePointer<V.Scalar>, _ y: UnsafeMutablePointer<V.Scalar>, count: Int,
  c: V.Scalar, s: V.Scalar, vector: V.Type
) where V.Scalar: BinaryFloatingPoint {
  let width = V.scalarCount
  let rx = UnsafeMutableRawPointer(x), ry = UnsafeMutableRawPointer(y)
  let bytes = MemoryLayout<V.Scalar>.stride
  let cV = V(repeating: c), sV = V(repeating: s), minusS = V(repeating: -s)
  var i = 0
  while i + width <= count {
    let xv = rx.loadUnaligned(fromByteOffset: i * bytes, as: V.self)
    let yv = ry.loadUnaligned(fromByteOffset: i * bytes, as: V.self)
    var newX = xv * cV
    newX.addProduct(minusS, yv)
    var newY = xv * sV
    newY.addProduct(cV, yv)
    rx.storeBytes(of: newX, toByteOffset: i * bytes, as: V.self)
    ry.storeBytes(of: newY, toByteOffset: i * bytes, as: V.self)
    i += width
  }
  while i < count {
    let xi = x[i], yi = y[i]
    x[i] = c * xi - s * yi
    y[i] = s * xi + c * yi
    i += 1
  }
}
