import CollapseLab
import Foundation

/// One fuzz target per parser that reads a user's file. Each takes arbitrary
/// bytes and must return a value or throw its clean error: a crash, a hang
/// over 1 s (libFuzzer's -timeout) or an allocation over 1 GB (-malloc_limit_mb)
/// is a finding. Parsers that read paths get the bytes as a file in a
/// scratch directory (tmpfs where available).
enum FuzzTarget: String, CaseIterable {
  /// A GGUF file: header, metadata, tensor directory, every tensor's
  /// dequantisation (up to 4 M elements), the byte-level BPE from its metadata,
  /// and the whole model load.
  case gguf
  /// A model.safetensors: header and every tensor's conversion to Float32.
  case safetensors
  /// config.json of a Hugging Face directory (beside a tiny valid gpt2
  /// model.safetensors, so that every family's fields are read): BERT's and
  /// the other families' loaders.
  case configJSON = "config-json"
  /// tokenizer.json: parsing and the tokenizer built from it, encoding a fixed text.
  case tokenizerJSON = "tokenizer-json"
  /// vocab.txt (with a fixed tokenizer_config.json): WordPiece, encoding a fixed text.
  case wordpiece
  /// A --token-ids file (JSON lines of ids), n = 4, vocabulary 100.
  case tokenIDs = "token-ids"
  /// state.json as resume and merge read it.
  case stateJSON = "state-json"
  /// Saved hidden states for `measure`: a .npy (bytes starting \x93NUMPY),
  /// a .npz (starting PK) or else a safetensors file; opened, and, when small,
  /// the first sequences measured.
  case hiddenStates = "hidden-states"

  func run(_ data: Data) {
    switch self {
    case .gguf:
      guard let file = try? GGUFFile(data: data, path: "fuzz.gguf") else { return }
      for tensor in file.tensors where tensor.elementCount <= 1 << 22 { _ = try? file.floats(tensor.name) }
      if let tokenizer = try? ByteLevelBPETokenizer(gguf: file) { _ = tokenizer.encode(sampleText) }
      withScratchFile("model.gguf", data) { _ = try? TrainedTransformer(gguf: $0.path) }
    case .safetensors:
      withScratchFile("model.safetensors", data) { url in
        guard let file = try? SafetensorsFile(contentsOf: url) else { return }
        for tensor in file.tensors.values where tensor.elementCount <= 1 << 22 { _ = try? file.floats(tensor) }
      }
    case .configJSON:
      withScratchDirectory(["config.json": data, "model.safetensors": Data(tinyGPT2Safetensors)]) { directory in
        _ = try? BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        _ = try? TrainedTransformer(huggingFaceDirectory: directory)
      }
    case .tokenizerJSON:
      guard let description = try? TokenizerJSON(data: data, path: "tokenizer.json"),
        let tokenizer = try? ByteLevelBPETokenizer(tokenizerJSON: description)
      else { return }
      _ = tokenizer.encode(sampleText)
    case .wordpiece:
      withScratchDirectory(["vocab.txt": data, "tokenizer_config.json": Data(#"{"do_lower_case": true}"#.utf8)]) { directory in
        guard let tokenizer = try? WordPieceTokenizer(directory: directory) else { return }
        _ = tokenizer.encodeWithSpecialTokens(sampleText)
      }
    case .tokenIDs:
      _ = try? tokenIDWindows(data, source: "ids.jsonl", sequenceLength: 4, vocabularySize: 100)
    case .stateJSON:
      withScratchDirectory(["state.json": data]) { _ = try? RunState.read(from: $0) }
    case .hiddenStates:
      let name = data.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) ? "states.npy" : data.starts(with: [0x50, 0x4B]) ? "states.npz" : "states.safetensors"
      withScratchFile(name, data) { url in
        guard let dataset = try? HiddenStateDataset(paths: [url.path]), dataset.stateCount <= 64,
          dataset.tokens <= 1 << 20, dataset.width <= 1 << 20, dataset.tokens * dataset.width <= 1 << 20,
          let source = try? dataset.source()
        else { return }
        let configuration = dataset.configuration(source: source)
        let engine = HiddenStateEngine(dataset: dataset)
        for sequence in 0..<min(2, dataset.sequenceCount) {
          _ = try? engine.checkedRun(sample: UInt64(sequence), configuration: configuration, seed: 0)
        }
      }
    }
  }
}

let sampleText = "Héllo, wörld! It's 2026: 日本語 😀 <|endoftext|> [CLS] a1b2  tabs\tand\nnewlines."

/// A scratch directory for one input, under /dev/shm when it exists.
let scratchRoot: URL = {
  let shm = URL(fileURLWithPath: "/dev/shm")
  let base = FileManager.default.fileExists(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
  let root = base.appendingPathComponent("rankkernels-fuzz-\(getpid())")
  try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  return root
}()

func withScratchDirectory(_ files: [String: Data], _ body: (URL) -> Void) {
  let directory = scratchRoot.appendingPathComponent("input")
  try? FileManager.default.removeItem(at: directory)
  try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  for (name, contents) in files { try? contents.write(to: directory.appendingPathComponent(name)) }
  body(directory)
}

func withScratchFile(_ name: String, _ data: Data, _ body: (URL) -> Void) {
  withScratchDirectory([name: data]) { body($0.appendingPathComponent(name)) }
}

/// A valid gpt2 model.safetensors at n_embd 4, n_layer 1, n_head 1, n_inner 8,
/// n_positions 4, vocabulary 6 (all values 0.5), written by hand: 8-byte
/// header length, JSON header, F32 data. Bytes, not Data: LeakSanitizer traces
/// an array's buffer from this global, not always a Data's tagged storage.
let tinyGPT2Safetensors: [UInt8] = {
  let shapes: [(String, [Int])] = [
    ("wte.weight", [6, 4]), ("wpe.weight", [4, 4]), ("h.0.ln_1.weight", [4]), ("h.0.ln_1.bias", [4]),
    ("h.0.attn.c_attn.weight", [4, 12]), ("h.0.attn.c_attn.bias", [12]), ("h.0.attn.c_proj.weight", [4, 4]),
    ("h.0.attn.c_proj.bias", [4]), ("h.0.ln_2.weight", [4]), ("h.0.ln_2.bias", [4]), ("h.0.mlp.c_fc.weight", [4, 8]),
    ("h.0.mlp.c_fc.bias", [8]), ("h.0.mlp.c_proj.weight", [8, 4]), ("h.0.mlp.c_proj.bias", [4]), ("ln_f.weight", [4]),
    ("ln_f.bias", [4]),
  ]
  var entries: [String] = [], offset = 0
  for (name, shape) in shapes {
    let bytes = shape.reduce(1, *) * 4
    entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
    offset += bytes
  }
  var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
  while header.count % 8 != 0 { header.append(0x20) }
  var bytes: [UInt8] = []
  withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
  bytes += header
  for _ in 0..<(offset / 4) { withUnsafeBytes(of: Float(0.5).bitPattern.littleEndian) { bytes += $0 } }
  return bytes
}()
