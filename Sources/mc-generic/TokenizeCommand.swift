import ArgumentParser
import CollapseLab
import Foundation

extension MCGeneric {
  struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Tokenize text as a checkpoint's tokenizer does: WordPiece (BERT) or byte-level BPE (GPT-2, Llama 3, SmolLM2, Pythia).",
      discussion: """
        Prints one JSON array per input line (--text FILE) or per argument: the ids (WordPiece with [CLS] and \
        [SEP]; byte-level BPE with no special tokens added, as a decoder's windows are cut), or with --tokens \
        the pieces. Reads vocab.txt and tokenizer_config.json (BERT), tokenizer.json (a directory without \
        vocab.txt), or a .gguf file's tokenizer metadata.
        """)
    @Option(help: "A Hugging Face directory with vocab.txt (BERT) or a byte-level BPE tokenizer.json, or a .gguf file.") var model: String
    @Option(help: "A UTF-8 text file: one output line per line of the file.") var text: String?
    @Flag(help: "Print the pieces instead of the ids.") var tokens = false
    @Argument(help: "Texts to tokenize (instead of --text).") var texts: [String] = []

    func validate() throws {
      if text == nil && texts.isEmpty { throw ValidationError("give --text FILE or one or more texts") }
      if text != nil && !texts.isEmpty { throw ValidationError("give --text FILE or texts as arguments, not both") }
    }

    func run() throws {
      var inputs = texts
      if let text {
        let contents = try readTextFile(text).text
        // Lines as Python's text.split("\n") without a trailing empty line.
        inputs = contents.components(separatedBy: "\n")
        if inputs.last == "" { inputs.removeLast() }
      }
      let directory = URL(fileURLWithPath: model)
      if model.hasSuffix(".gguf") {
        return try runByteLevel(inputs, tokenizer: try wrapped { try ByteLevelBPETokenizer(gguf: GGUFFile(path: model)) })
      }
      let hasVocabulary = FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.txt").path)
      let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
      if !hasVocabulary && FileManager.default.fileExists(atPath: tokenizerJSON.path) {
        return try runByteLevel(inputs, tokenizer: try wrapped { try ByteLevelBPETokenizer(tokenizerJSON: TokenizerJSON(contentsOf: tokenizerJSON)) })
      }
      let tokenizer = try wrapped { try WordPieceTokenizer(directory: URL(fileURLWithPath: model)) }
      var output = ""
      for line in inputs {
        let ids = tokenizer.encodeWithSpecialTokens(line)
        if tokens {
          let pieces = ids.map { tokenizer.pieces[Int($0)] }
          let data = try JSONSerialization.data(withJSONObject: pieces, options: [.withoutEscapingSlashes])
          output += String(decoding: data, as: UTF8.self)
        } else {
          output += "[" + ids.map(String.init).joined(separator: ", ") + "]"
        }
        output += "\n"
      }
      FileHandle.standardOutput.write(Data(output.utf8))
    }
  
    /// Byte-level BPE: ids without special tokens added (a decoder's
    /// windows have none), or the pieces with --tokens.
    private func runByteLevel(_ inputs: [String], tokenizer: ByteLevelBPETokenizer) throws {
      var output = ""
      for line in inputs {
        let ids = tokenizer.encode(line)
        if tokens {
          let data = try JSONSerialization.data(withJSONObject: ids.map { tokenizer.tokens[Int($0)] }, options: [.withoutEscapingSlashes])
          output += String(decoding: data, as: UTF8.self)
        } else {
          output += "[" + ids.map(String.init).joined(separator: ", ") + "]"
        }
        output += "\n"
      }
      print(output, terminator: "")
    }
}
}
