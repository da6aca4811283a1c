import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
  struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write DIR/plot.svg from the results in DIR.")
    @Argument(help: "A result directory.") var directory: String
    func run() throws {
      let url = URL(fileURLWithPath: directory)
      let state = try wrapped { try RunState.read(from: url) }
      try writeLayerPlot(Summary(state: state), to: url)
      printError("mc-generic: wrote \(url.path)/plot.svg")
    }
  }
}
