import ArgumentParser
import CollapseLab
import Foundation
import RankKernels

extension MCGeneric {
  struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write DIR/plot.svg from the results in DIR, or overlay several result directories in one plot.",
      discussion: """
        With one directory, rewrites its plot.svg. With several (a trained model and its initialisation, \
        `measure` beside `run --model`, …), --output FILE.svg gets every run's curves with their 1–99 % \
        bands, labelled by --labels or the directories' names.
        """)
    @Argument(help: "Result directories (state.json).") var directories: [String] = []
    @Option(help: "With several directories: the SVG file to write; must not exist yet.") var output: String?
    @Option(help: "Comma-separated legend names, one per directory (default: the directories' names).") var labels: String?

    func validate() throws {
      if directories.isEmpty { throw ValidationError("plot needs at least one result directory") }
      if directories.count > 1 && output == nil { throw ValidationError("plotting several directories needs --output FILE.svg") }
      if let labels, labels.split(separator: ",", omittingEmptySubsequences: false).count != directories.count {
        throw ValidationError("--labels names \(labels.split(separator: ",", omittingEmptySubsequences: false).count) runs but \(directories.count) directories are given")
      }
    }

    func run() throws {
      let urls = directories.map { URL(fileURLWithPath: $0) }
      let summaries = try urls.map { url in Summary(state: try wrapped { try RunState.read(from: url) }) }
      guard let output else {
        try writeLayerPlot(summaries[0], to: urls[0])
        printError("mc-generic: wrote \(urls[0].path)/plot.svg")
        return
      }
      let names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? urls.map(\.lastPathComponent)
      if FileManager.default.fileExists(atPath: output) { throw RunError("--output \(output) already exists; choose another file") }
      let svg = overlayPlotSVG(Array(zip(names, summaries)).map { (name: $0.0, summary: $0.1) })
      do { try Data(svg.utf8).write(to: URL(fileURLWithPath: output)) } catch {
        throw RunError("--output \(output): cannot write (\(error.localizedDescription))")
      }
      printError("mc-generic: wrote \(output) (\(summaries.count) runs)")
    }
  }
}
