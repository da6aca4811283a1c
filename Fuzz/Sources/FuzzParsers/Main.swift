import Foundation

// libFuzzer's driver: `FuzzParsers TARGET [libFuzzer arguments…]`. SwiftPM
// names an executable target's entry point `<module>_main`; this one hands
// the arguments after TARGET to LLVMFuzzerRunDriver (linked in by
// -sanitize=fuzzer), which then calls LLVMFuzzerTestOneInput per input.

nonisolated(unsafe) var selectedTarget: FuzzTarget = .gguf

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  selectedTarget.run(start.map { Data(bytes: $0, count: count) } ?? Data())
  return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
  _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzParsers_main")
func fuzzParsersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
  guard argc >= 2, let argv, let name = argv[1].map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) else {
    FileHandle.standardError.write(Data("usage: FuzzParsers TARGET [libFuzzer options] [corpus…]; targets: \(names)\n".utf8))
    return 2
  }
  selectedTarget = target
  // Built before fuzzing starts: libFuzzer's per-input leak check would
  // otherwise count this lazily made global (whose Data payload LSan cannot
  // always trace through Swift's tagged enum representation) as the input's.
  _ = tinyGPT2Safetensors
  // libFuzzer sees argv[0] followed by everything after TARGET.
  argv[1] = argv[0]
  var count = argc - 1
  var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv + 1
  return runFuzzerDriver(&count, &arguments) { testOneInput($0, $1) }
}
