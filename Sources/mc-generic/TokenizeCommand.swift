import ArgumentParser
import CollapseLab
import Foundation

extension MCGeneric {
  struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Tokenize text with a checkpoint's WordPiece vocabulary, as Hugging Face's BertTokenizer does.",
      discussion: """
        Prints one JSON array per input line (--text FILE) or per argument: the ids with [CLS] and [SEP], \
        or with --tokens the pieces. Only vocab.txt and tokenizer_config.json are read.
        """)
    @Option(help: "A Hugging Face BERT directory with vocab.txt (and tokenizer_config.json).") var model: String
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
      if model.hasSuffix(".gguf") { return try runByteLevel(inputs) }
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
  
    /// A GGUF file's byte-level BPE: ids without special tokens added (a
    /// decoder's windows have none), or the pieces with --tokens.
    private func runByteLevel(_ inputs: [String]) throws {
      let tokenizer = try wrapped { try ByteLevelBPETokenizer(gguf: GGUFFile(path: model)) }
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
