import ArgumentParser
import CollapseLab
import Foundation
import RankKernels
import Synchronization

@main
struct MCGeneric: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mc-generic",
    abstract: "Monte Carlo rank tracking over randomly sampled Transformer encoders (BERT-base by default).",
    discussion: """
      Samples weights and inputs from a density, runs every architecture variant, and reports \
      how often rank, affine rank and residual ratios behave as the rank-collapse literature claims, \
      with exact confidence bounds. Results are determined by --seed, whatever the thread count, \
      interruption or sharding.
      """,
    version: collapseLabVersion,
    subcommands: [Run.self, Measure.self, Merge.self, Plot.self, Claims.self, Tokenize.self, Export.self, Inspect.self],
    defaultSubcommand: Run.self)

  /// Parses and runs as ArgumentParser's `main()` does, but reports every
  /// error in one line on stderr (ArgumentParser would add the usage text to
  /// parse and validation errors); help and `--version` print as usual.
  static func main() {
    do {
      var command = try parseAsRoot()
      try wrapped { try command.run() }
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      let message = self.message(for: error)
      if !message.isEmpty { printError("Error: " + message) }
      Foundation.exit(code.rawValue)
    }
  }
}

/// An error found while running (after parsing): printed as one line,
/// without the usage text that ArgumentParser adds to validation errors.
struct RunError: Error, CustomStringConvertible, Equatable {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Set from SIGINT/SIGTERM; the run finishes its batch of blocks in flight and saves.
let stopRequested = Atomic<Bool>(false)

/// Creates `path` if needed; refuses a directory that already holds results
/// (nothing is ever overwritten) or cannot be written.
func prepareOutputDirectory(_ path: String) throws -> URL {
  let url = URL(fileURLWithPath: path)
  let fileManager = FileManager.default
  if fileManager.fileExists(atPath: url.appendingPathComponent(RunState.fileName).path) {
    throw RunError("--output \(path) already holds results (state.json); use --resume \(path) to continue, or another directory")
  }
  do {
    try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
    let probe = url.appendingPathComponent(".write-test-\(getpid())")
    try Data().write(to: probe)
    try fileManager.removeItem(at: probe)
  } catch {
    throw RunError("--output \(path) is not a writable directory: \(error.localizedDescription)")
  }
  return url
}

/// Locks a result directory for this process (`RunDirectoryLock`): a second
/// process on the same directory is refused in one line. Keep the lock alive
/// until the run has written its last file.
func lockResultDirectory(_ url: URL, fresh: Bool) throws -> RunDirectoryLock {
  let lock = try wrapped { try RunDirectoryLock(directory: url) }
  // Another process may have finished a run here between the check and the lock.
  if fresh && FileManager.default.fileExists(atPath: url.appendingPathComponent(RunState.fileName).path) {
    throw RunError("--output \(url.path) already holds results (state.json); use --resume \(url.path) to continue, or another directory")
  }
  return lock
}

/// A new directory mc-generic-runs/<UTC time>-seed<S>[-shardKofN][-2…] under
/// the working directory: created atomically (mkdir), never an existing one.
func createRunDirectory(seed: UInt64, shard: Shard) throws -> URL {
  let parent = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("mc-generic-runs")
  do {
    try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
  } catch {
    throw RunError("cannot create \(parent.path) for the results (\(error.localizedDescription)); give --output DIR")
  }
  let formatter = DateFormatter()
  formatter.locale = Locale(identifier: "en_US_POSIX")
  formatter.timeZone = TimeZone(identifier: "UTC")
  formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
  var name = "\(formatter.string(from: Date()))-seed\(seed)"
  if shard != .whole { name += "-shard\(shard.index)of\(shard.count)" }
  for attempt in 1...1000 {
    let url = parent.appendingPathComponent(attempt == 1 ? name : "\(name)-\(attempt)")
    if mkdir(url.path, 0o755) == 0 { return url }
    if errno != EEXIST { throw RunError("cannot create \(url.path) (\(String(cString: strerror(errno)))); give --output DIR") }
  }
  throw RunError("cannot find a new directory name under \(parent.path); give --output DIR")
}

/// The bytes and UTF-8 text of a `--text` file, or a one-line error.
func readTextFile(_ path: String) throws -> (data: Data, text: String) {
  guard let data = FileManager.default.contents(atPath: path) else { throw RunError("--text \(path): missing or unreadable") }
  guard let text = String(data: data, encoding: .utf8) else { throw RunError("--text \(path): not UTF-8") }
  return (data, text)
}

/// The bytes of an input file named by `option`, or a one-line error.
func readInputFile(_ path: String, option: String) throws -> Data {
  guard let data = FileManager.default.contents(atPath: path) else { throw RunError("\(option) \(path): missing or unreadable") }
  return data
}

/// `text` quoted for a POSIX shell when it needs it.
func shellQuoted(_ text: String) -> String {
  let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
  if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
  return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Turns library configuration errors into one-line CLI errors that name
/// settings by their flags.
func wrapped<T>(_ body: () throws -> T) throws -> T {
  do { return try body() } catch let error as ConfigurationError {
    throw RunError(error.message.rendered(naming: \.flag))
  } catch let error as CheckpointError {
    throw RunError(error.message.rendered(naming: \.flag))
  }
}

func installStopHandlers() {
  // A file-size limit (ulimit -f) would kill the process with SIGXFSZ and no
  // message; ignored, the write fails with EFBIG and the run says so in one line.
  signal(SIGXFSZ, SIG_IGN)
  for signalNumber in [SIGINT, SIGTERM] {
    signal(signalNumber) { _ in
      if stopRequested.load(ordering: .relaxed) { _exit(130) }  // second Ctrl-C: stop now
      stopRequested.store(true, ordering: .relaxed)
    }
  }
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Progress on stderr: a redrawn line on a terminal, a line every 10 s otherwise.
final class ProgressReporter: @unchecked Sendable {
  let enabled: Bool
  /// What is counted: samples, or sequences for `measure`.
  let unit: String
  let terminal = isatty(2) != 0
  private let lock = NSLock()
  private var lastPrint = -1.0
  private var printed = false

  init(enabled: Bool, unit: String = "samples") {
    self.enabled = enabled
    self.unit = unit
  }

  func update(done: Int, total: Int, seconds: Double) {
    guard enabled else { return }
    lock.lock(); defer { lock.unlock() }
    let interval = terminal ? 0.2 : 10
    if seconds - lastPrint < interval && done < total { return }
    lastPrint = seconds
    let rate = seconds > 0 ? Double(done) / seconds : 0
    let eta = rate > 0 ? Double(total - done) / rate : .nan
    let line = "\(done)/\(total) \(unit)  \(String(format: "%.2f", rate)) \(unit)/s  ETA \(formatDuration(eta))"
    if terminal {
      FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
      printed = true
    } else {
      printError("mc-generic: \(line)")
    }
  }

  func finish() {
    if enabled && terminal && printed { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}

func formatDuration(_ seconds: Double) -> String {
  guard seconds.isFinite else { return "--" }
  let s = Int(seconds.rounded())
  return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
}

/// The shard to run: `--shard K/N`, else SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT
/// or JOB_COMPLETION_INDEX/MC_SHARD_COUNT from the environment, else the whole run.
func resolveShard(_ option: String?) throws -> Shard {
  let environment = ProcessInfo.processInfo.environment
  var text = option
  if text == nil, let k = environment["SLURM_ARRAY_TASK_ID"], let n = environment["SLURM_ARRAY_TASK_COUNT"] {
    text = "\(k)/\(n)"
  }
  if text == nil, let k = environment["JOB_COMPLETION_INDEX"], let n = environment["MC_SHARD_COUNT"] { text = "\(k)/\(n)" }
  guard let text else { return .whole }
  return try wrapped { try Shard(parsing: text) }
}
