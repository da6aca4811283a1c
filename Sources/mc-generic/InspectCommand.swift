import ArgumentParser
import CollapseLab
import Foundation

extension MCGeneric {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Describe a GGUF file (validated): its metadata and tensors; optionally write one tensor dequantised to Float32 as .npy.",
      discussion: """
        The .npy array has numpy's shape, the GGUF dimensions reversed (a weight listed [in, out] becomes [out, in]), \
        so `gguf.quants.dequantize(tensor.data, tensor.tensor_type)` can be compared with it directly.
        """)
    @Argument(help: "A .gguf file.") var file: String
    @Option(help: "A tensor to dequantise (with --output).") var tensor: String?
    @Option(help: "The .npy file to write (must not exist).") var output: String?

    func validate() throws {
      if (tensor == nil) != (output == nil) { throw ValidationError("--tensor and --output go together") }
    }

    func run() throws {
      let gguf = try wrapped { try GGUFFile(path: file) }
      guard let tensor, let output else {
        print("\(file): GGUF version \(gguf.version), \(gguf.metadata.count) metadata keys, \(gguf.tensors.count) tensors, alignment \(gguf.alignment)")
        print("architecture: \(gguf.string("general.architecture") ?? "(none)")")
        for key in gguf.metadata.keys.sorted() { print("  \(key) = \(gguf.metadata[key]!)") }
        var byType: [String: Int] = [:]
        for t in gguf.tensors { byType[t.type.description, default: 0] += 1 }
        print("tensors by type: " + byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for t in gguf.tensors { print("  \(t.name) \(t.type) \(t.dimensions)") }
        return
      }
      if FileManager.default.fileExists(atPath: output) { throw RunError("--output \(output) exists; nothing is overwritten") }
      let values = try wrapped { try gguf.floats(tensor) }
      let shape = gguf.tensor(named: tensor)!.dimensions.reversed().map(String.init)
      var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
      while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
      header += "\n"
      var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
      bytes += Array(header.utf8)
      values.withUnsafeBytes { bytes += $0 }
      do { try Data(bytes).write(to: URL(fileURLWithPath: output), options: .withoutOverwriting) } catch {
        throw RunError("--output \(output): \(error.localizedDescription)")
      }
    }
  }
}
