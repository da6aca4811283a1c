import Foundation

/// The version recorded in every result file; merging or resuming results from
/// another version is refused (the numbers could differ).
public let collapseLabVersion = "0.4.0"

/// Which contiguous range of sample blocks a process owns (`--shard K/N`).
public struct Shard: Codable, Hashable, Sendable, CustomStringConvertible {
  public var index: Int
  public var count: Int
  public init(index: Int, count: Int) { self.index = index; self.count = count }
  public static let whole = Shard(index: 0, count: 1)

  /// Parses `K/N` with 0 ≤ K < N.
  public init(parsing text: String) throws(ConfigurationError) {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 0, k < n else {
      throw ConfigurationError("\(.shard) must be K/N with 0 <= K < N, got '\(text)'")
    }
    self.init(index: k, count: n)
  }
  public var description: String { "\(index)/\(count)" }

  /// Blocks k·B/N ..< (k+1)·B/N of `totalBlocks`.
  public func blocks(of totalBlocks: Int) -> Range<Int> {
    // k·B/N in double width: k·B overflows Int for 10¹⁵ samples in 10⁶ shards.
    func boundary(_ k: Int) -> Int { count.dividingFullWidth(k.multipliedFullWidth(by: totalBlocks)).quotient }
    return boundary(index)..<boundary(index + 1)
  }
}

/// What defines a run's numbers: two runs with equal identities produce the
/// same per-sample results, so their blocks may be merged or resumed.
public struct RunIdentity: Codable, Hashable, Sendable {
  public var configuration: ModelConfiguration
  public var seed: UInt64
  public var samples: Int
  public var engine: EngineKind
  public var blockSize: Int
  public var codeVersion: String

  /// `blockSize` fixes the reduction order (16 samples: a checkpoint and an
  /// interruption wait for at most one block).
  public init(
    configuration: ModelConfiguration, seed: UInt64, samples: Int, engine: EngineKind, blockSize: Int = 16,
    codeVersion: String = collapseLabVersion
  ) {
    self.configuration = configuration
    self.seed = seed
    self.samples = samples
    self.engine = engine
    self.blockSize = blockSize
    self.codeVersion = codeVersion
  }

  public var totalBlocks: Int { (samples + blockSize - 1) / blockSize }
  var metricsPerSample: Int { configuration.variants.count * (configuration.layers + 1) * Metric.allCases.count }

  public func entry(variant: Int, layer: Int, metric: Int) -> Int {
    (variant * (configuration.layers + 1) + layer) * Metric.allCases.count + metric
  }
  var histogramSpecs: [HistogramSpec] {
    var specs: [HistogramSpec] = []
    for _ in configuration.variants {
      for _ in 0...configuration.layers {
        for metric in Metric.allCases { specs.append(.forMetric(metric, configuration: configuration)) }
      }
    }
    return specs
  }
  var emptyTable: MomentTable { MomentTable(count: metricsPerSample) }

  /// Explains the first difference from `other`, or nil when they match.
  public func mismatch(with other: RunIdentity) -> String? {
    switch (configuration.checkpoint, other.configuration.checkpoint) {
    case let (mine?, theirs?):
      if let difference = mine.mismatch(with: theirs) { return difference }
    case (nil, _?), (_?, nil):
      return "model differs (one run uses a trained checkpoint, the other random weights)"
    case (nil, nil): break
    }
    switch (configuration.measured, other.configuration.measured) {
    case let (mine?, theirs?):
      if let difference = mine.mismatch(with: theirs) { return difference }
    case (nil, _?), (_?, nil):
      return "input differs (one run measures saved hidden states, the other runs a model)"
    case (nil, nil): break
    }
    if configuration != other.configuration { return "model configuration differs" }
    if seed != other.seed { return "seed differs (\(seed) vs \(other.seed))" }
    if samples != other.samples { return "sample count differs (\(samples) vs \(other.samples))" }
    if engine != other.engine { return "engine differs (\(engine) vs \(other.engine))" }
    if blockSize != other.blockSize { return "block size differs" }
    if codeVersion != other.codeVersion { return "code version differs (\(codeVersion) vs \(other.codeVersion))" }
    return nil
  }
}

/// Everything needed to resume or merge: the identity, which blocks are done
/// (as reduction-tree nodes of their moments), the histograms, and how much of
/// the per-sample CSV belongs to completed blocks.
public struct RunState: Codable, Equatable, Sendable {
  public static let schema = "mc-generic/state/v1"
  public var schema = RunState.schema
  public var identity: RunIdentity
  public var shard: Shard
  public var tree: ReductionTree
  public var tallies: Tallies
  public var completedSamples: Int
  public var perSampleBytes: Int?
  public var elapsedSeconds: Double

  public init(identity: RunIdentity, shard: Shard) {
    self.identity = identity
    self.shard = shard
    tree = ReductionTree()
    tallies = Tallies(specs: identity.histogramSpecs)
    completedSamples = 0
    perSampleBytes = nil
    elapsedSeconds = 0
  }

  public static let fileName = "state.json"

  /// Writes atomically (temporary file, then rename): a crash leaves either the
  /// old or the new state, never a torn one. The first line carries an FNV-1a
  /// checksum of the JSON that follows, so corruption is detected on load.
  public func write(to directory: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let payload = try encoder.encode(self)
    var file = Data("\(RunState.schema) fnv1a64=\(fnv1a64Hex(payload))\n".utf8)
    file.append(payload)
    try writeAtomically(file, to: directory.appendingPathComponent(RunState.fileName))
  }

  public static func read(from directory: URL) throws -> RunState {
    let url = directory.appendingPathComponent(fileName)
    guard let data = try? Data(contentsOf: url) else {
      throw ConfigurationError("no results in \(directory.path): \(fileName) is missing or unreadable")
    }
    guard let newline = data.firstIndex(of: UInt8(ascii: "\n")) else {
      throw ConfigurationError("\(url.path) is corrupted (no header line)")
    }
    let header = String(decoding: data[..<newline], as: UTF8.self)
    let payload = data[(newline + 1)...]
    guard header.hasPrefix(schema + " fnv1a64=") else {
      throw ConfigurationError("\(url.path) is not an mc-generic state file of schema \(schema)")
    }
    guard header.hasSuffix("=" + fnv1a64Hex(Data(payload))) else {
      throw ConfigurationError("\(url.path) is corrupted: its checksum does not match its contents")
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
      return try decoder.decode(RunState.self, from: Data(payload))
    } catch {
      throw ConfigurationError("\(url.path) could not be decoded: \(error)")
    }
  }
}

func fnv1a64Hex(_ data: Data) -> String {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in data {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  let digits = String(hash, radix: 16)
  return String(repeating: "0", count: 16 - digits.count) + digits
}

/// Writes `data` to `url` through a temporary file in the same directory and
/// an atomic rename.
func writeAtomically(_ data: Data, to url: URL) throws {
  let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
  if let failure = writeFile(data, to: temporary.path) {
    // Leave no partial temporary file behind; the previous file, if any, is intact.
    unlink(temporary.path)
    throw ConfigurationError("cannot write \(url.path) (\(data.count) bytes): \(failure); the previous \(url.lastPathComponent), if any, is intact")
  }
  if rename(temporary.path, url.path) != 0 {
    let reason = String(cString: strerror(errno))
    try? FileManager.default.removeItem(at: temporary)
    throw ConfigurationError("cannot move \(temporary.path) to \(url.path): \(reason)")
  }
}

/// Writes `data` to a new file at `path` with POSIX calls (Foundation's
/// Data.write reports no errno on Linux); nil on success, else the reason.
func writeFile(_ data: Data, to path: String) -> String? {
  let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  if descriptor < 0 { return errnoReason(errno) }
  defer { close(descriptor) }
  let failure: Int32? = data.withUnsafeBytes { bytes in
    var done = 0
    while done < bytes.count {
      let n = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        return errno
      }
      done += n
    }
    return nil
  }
  return failure.map(errnoReason)
}

/// The OS's reason for a failed write, with the usual causes named.
func writeFailureReason(_ error: any Error) -> String {
  let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
  let code = (error as? POSIXError)?.code.rawValue ?? Int32(underlying?.code ?? 0)
  return code != 0 ? errnoReason(code) : (underlying ?? (error as NSError)).localizedDescription
}

/// errno as words, naming the usual causes of a failed write.
func errnoReason(_ code: Int32) -> String {
  switch code {
  case EFBIG: return "file too large (a file-size limit: ulimit -f)"
  case ENOSPC: return "no space left on the device"
  case EDQUOT: return "disk quota exceeded"
  case EROFS: return "read-only file system"
  case EACCES, EPERM: return "permission denied"
  case ENOENT: return "the directory no longer exists"
  default: return String(cString: strerror(code))
  }
}
