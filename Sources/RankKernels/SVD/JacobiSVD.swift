internal func swiftSingularValues(m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, into values: UnsafeMutablePointer<Double>) { fatalError("todo") }
