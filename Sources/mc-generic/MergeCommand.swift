import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Combine shard (or partial) result directories into the summary one run would give.")
    @Argument(help: "Result directories written by --output.") var directories: [String]
    @Option(help: "Directory for the merged results; must not hold results yet.") var output: String

    func run() throws {
      if directories.isEmpty { throw RunError("merge needs at least one result directory") }
      let merged = try wrapped { try mergeResults(from: directories.map { URL(fileURLWithPath: $0) }) }
      let directory = try prepareOutputDirectory(output)
      try merged.write(to: directory)
      let summary = Summary(state: merged)
      try summary.write(to: directory)
      try writeLayerPlot(summary, to: directory)
      print(summary.table())
      if let warning = summary.nonFiniteWarning() { printError("mc-generic merge: " + warning) }
      if !summary.isComplete { printError("mc-generic merge: warning: the inputs do not cover every sample; the summary is partial") }
    }
  }
}
