// Lanewise code written once for any vector width. This module (compiled with
// the kernels' AVX2 flags, optimised in every configuration) instantiates it
// at 8 lanes for RankKernels; the generic code is `@inlinable`, so that
// _RankKernelsAVX512 specialises it at 16 lanes with its AVX-512 flags. Per
// lane, both instantiations perform the same operations in the same order,
// so they give the same bits.

/// A vector of `Float` lanes with same-width integer views, for the
/// bit-level tricks of the elementary functions and the random numbers.
public protocol FloatLanes: SIMD where Scalar == Float {
  /// The lanes' bit patterns as signed integers (arithmetic shifts).
  associatedtype SignedBits: SIMD where SignedBits.Scalar == Int32
  /// The lanes' bit patterns as unsigned integers.
  associatedtype Bits: SIMD where Bits.Scalar == UInt32
  /// Pairs of adjacent 32-bit lanes as 64-bit lanes (half as many lanes), for
  /// Philox's 32 × 32 → 64-bit products.
  associatedtype PairedBits: SIMD where PairedBits.Scalar == UInt64

  /// 0, 1, 2, …: each lane's index.
  static var laneIndices: Bits { get }

  /// The lanewise signed minimum. Comparisons are requirements, not generic
  /// code: in a generic context `.>` resolves to SIMD's lane-by-lane
  /// implementation (GELU ran 15× slower), in a conformance to the vector one.
  static func minimum(_ a: SignedBits, _ b: SignedBits) -> SignedBits
  /// `a` in the lanes where a > b (signed), 0 elsewhere.
  static func keeping(_ a: SignedBits, whereAbove b: SignedBits) -> SignedBits

  /// Stores four vectors holding `scalarCount / 8` consecutive groups of 32
  /// random numbers: lanes 8g ..< 8g + 8 of `values.j` go to floats
  /// 32g + 8j ..< 32g + 8j + 8 of `destination` (the layout of
  /// `RandomStream`: eight Philox blocks per group, word j of each).
  static func storeGroups(_ values: (Self, Self, Self, Self), to destination: UnsafeMutableRawPointer)
}

extension SIMD8: FloatLanes where Scalar == Float {
  public typealias SignedBits = SIMD8<Int32>
  public typealias Bits = SIMD8<UInt32>
  public typealias PairedBits = SIMD4<UInt64>

  @inlinable
  public static var laneIndices: SIMD8<UInt32> { SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) }

  @inlinable @inline(__always)
  public static func minimum(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> { a.replacing(with: b, where: a .> b) }

  @inlinable @inline(__always)
  public static func keeping(_ a: SIMD8<Int32>, whereAbove b: SIMD8<Int32>) -> SIMD8<Int32> {
    SIMD8<Int32>().replacing(with: a, where: a .> b)
  }

  @inlinable @inline(__always)
  public static func storeGroups(_ values: (Self, Self, Self, Self), to destination: UnsafeMutableRawPointer) {
    destination.storeBytes(of: values.0, as: Self.self)
    destination.storeBytes(of: values.1, toByteOffset: 32, as: Self.self)
    destination.storeBytes(of: values.2, toByteOffset: 64, as: Self.self)
    destination.storeBytes(of: values.3, toByteOffset: 96, as: Self.self)
  }
}

extension SIMD16: FloatLanes where Scalar == Float {
  public typealias SignedBits = SIMD16<Int32>
  public typealias Bits = SIMD16<UInt32>
  public typealias PairedBits = SIMD8<UInt64>

  @inlinable
  public static var laneIndices: SIMD16<UInt32> { SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }

  @inlinable @inline(__always)
  public static func minimum(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> { a.replacing(with: b, where: a .> b) }

  @inlinable @inline(__always)
  public static func keeping(_ a: SIMD16<Int32>, whereAbove b: SIMD16<Int32>) -> SIMD16<Int32> {
    SIMD16<Int32>().replacing(with: a, where: a .> b)
  }

  /// Each vector's halves go to two groups 32 floats apart. Seeing only
  /// half-vector stores, LLVM narrows all the arithmetic feeding them to
  /// 8-lane vectors, and the fill runs no faster than the 8-lane one, unless
  /// the values come through an optimisation barrier first
  /// (`_RankKernelsAVX512`'s fills pass them through `rankkernels_opaque16`).
  @inlinable @inline(__always)
  public static func storeGroups(_ values: (Self, Self, Self, Self), to destination: UnsafeMutableRawPointer) {
    destination.storeBytes(of: values.0.lowHalf, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.1.lowHalf, toByteOffset: 32, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.2.lowHalf, toByteOffset: 64, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.3.lowHalf, toByteOffset: 96, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.0.highHalf, toByteOffset: 128, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.1.highHalf, toByteOffset: 160, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.2.highHalf, toByteOffset: 192, as: SIMD8<Float>.self)
    destination.storeBytes(of: values.3.highHalf, toByteOffset: 224, as: SIMD8<Float>.self)
  }

}
