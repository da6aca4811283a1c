/// Count, mean, M2 (sum of squared deviations), min and max of one statistic,
/// combined by Chan et al.'s pairwise update.
///
/// Floating-point merging is not associative, so the package fixes the order
/// (see `ReductionTree`): the same samples always give the same bits.
public struct Moments: Codable, Equatable, Sendable {
  public var count: Int = 0
  public var mean: Double = 0
  public var m2: Double = 0
  public var minimum: Double = .infinity
  public var maximum: Double = -.infinity

  public init() {}

  /// Adds one observation (Welford); NaN observations are skipped.
  public mutating func add(_ x: Double) {
    guard !x.isNaN else { return }
    count += 1
    let delta = x - mean
    mean += delta / Double(count)
    m2 += delta * (x - mean)
    minimum = Swift.min(minimum, x)
    maximum = Swift.max(maximum, x)
  }

  /// `self` followed by `other` (exactly `self` when `other` is empty, and
  /// vice versa, so empty subtrees do not perturb the bits).
  public func merged(with other: Moments) -> Moments {
    if other.count == 0 { return self }
    if count == 0 { return other }
    var result = Moments()
    result.count = count + other.count
    let delta = other.mean - mean
    result.mean = mean + delta * Double(other.count) / Double(result.count)
    result.m2 = m2 + other.m2 + delta * delta * Double(count) * Double(other.count) / Double(result.count)
    result.minimum = Swift.min(minimum, other.minimum)
    result.maximum = Swift.max(maximum, other.maximum)
    return result
  }

  /// Sample standard deviation (n − 1), or NaN below two observations.
  public var standardDeviation: Double { count > 1 ? (m2 / Double(count - 1)).squareRoot() : .nan }

  // JSON cannot hold ±inf: min/max of an empty set are encoded as null.
  enum CodingKeys: String, CodingKey { case count, mean, m2, minimum = "min", maximum = "max" }
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    count = try c.decode(Int.self, forKey: .count)
    mean = try c.decode(Double.self, forKey: .mean)
    m2 = try c.decode(Double.self, forKey: .m2)
    minimum = try c.decodeIfPresent(Double.self, forKey: .minimum) ?? .infinity
    maximum = try c.decodeIfPresent(Double.self, forKey: .maximum) ?? -.infinity
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(count, forKey: .count)
    try c.encode(mean, forKey: .mean)
    try c.encode(m2, forKey: .m2)
    if minimum.isFinite { try c.encode(minimum, forKey: .minimum) }
    if maximum.isFinite { try c.encode(maximum, forKey: .maximum) }
  }
}

/// Moments of every (variant, layer, metric), flattened in that order.
public struct MomentTable: Codable, Equatable, Sendable {
  public var entries: [Moments]
  public init(count: Int) { entries = Array(repeating: Moments(), count: count) }
  public func merged(with other: MomentTable) -> MomentTable {
    var result = self
    for i in entries.indices { result.entries[i] = entries[i].merged(with: other.entries[i]) }
    return result
  }
}

/// A canonical binary reduction tree over block indices 0, 1, 2, …: a leaf is
/// one block's moments; an inner node is `left.merged(with: right)`. Whatever
/// order blocks complete in, and however they are split across processes,
/// a complete tree reduces to the same root, bit for bit.
///
/// Only maximal completed subtrees are stored: a run that completes blocks in
/// order (or a shard owning a contiguous range) keeps O(log blocks) nodes.
public struct ReductionTree: Codable, Equatable, Sendable {
  public struct Node: Codable, Equatable, Sendable {
    public var level: Int
    public var index: Int
    public var table: MomentTable
    /// Blocks covered: index·2^level ..< (index+1)·2^level.
    var blocks: Range<Int> { (index << level)..<((index + 1) << level) }
  }
  public private(set) var nodes: [Node] = []

  public init() {}

  /// Inserts block `block`'s moments; throws if it is already covered.
  public mutating func insert(block: Int, _ table: MomentTable) throws(ConfigurationError) {
    try insert(Node(level: 0, index: block, table: table))
  }

  /// Adds every node of `other` (results of disjoint blocks).
  public mutating func absorb(_ other: ReductionTree) throws(ConfigurationError) {
    for node in other.nodes { try insert(node) }
  }

  private mutating func insert(_ node: Node) throws(ConfigurationError) {
    if let clash = nodes.first(where: { $0.blocks.overlaps(node.blocks) }) {
      throw ConfigurationError("blocks \(node.blocks) were already aggregated (overlap with \(clash.blocks)): the inputs cover the same samples twice")
    }
    var current = node
    while let siblingIndex = nodes.firstIndex(where: { $0.level == current.level && $0.index == current.index ^ 1 }) {
      let sibling = nodes.remove(at: siblingIndex)
      let (left, right) = current.index & 1 == 0 ? (current, sibling) : (sibling, current)
      current = Node(level: current.level + 1, index: current.index >> 1, table: left.table.merged(with: right.table))
    }
    nodes.append(current)
  }

  /// The root over blocks 0..<totalBlocks. Nodes whose siblings lie wholly
  /// beyond `totalBlocks` merge with an empty sibling (exactly themselves).
  /// Returns nil if some block below `totalBlocks` is missing.
  public func root(totalBlocks: Int, emptyTable: MomentTable) -> MomentTable? {
    var work = self
    var guardCount = 0
    while true {
      if work.nodes.count == 1, work.nodes[0].index == 0, (1 << work.nodes[0].level) >= totalBlocks {
        return work.nodes[0].table
      }
      if work.nodes.isEmpty { return totalBlocks == 0 ? emptyTable : nil }
      // Promote the lowest node whose sibling range is entirely beyond the end.
      guard let position = work.nodes.indices.min(by: { work.nodes[$0].level < work.nodes[$1].level }) else { return nil }
      let node = work.nodes[position]
      let siblingStart = (node.index ^ 1) << node.level
      if node.index & 1 == 0 && siblingStart >= totalBlocks {
        work.nodes.remove(at: position)
        try? work.insert(Node(level: node.level + 1, index: node.index >> 1, table: node.table))
      } else {
        return nil
      }
      guardCount += 1
      if guardCount > 10_000 { return nil }
    }
  }

  /// All completed blocks' moments folded in block order (for interim reports
  /// of incomplete runs; not canonical).
  public func interimTotal(emptyTable: MomentTable) -> MomentTable {
    nodes.sorted { $0.blocks.lowerBound < $1.blocks.lowerBound }.reduce(emptyTable) { $0.merged(with: $1.table) }
  }

  /// Number of blocks covered.
  public var completedBlocks: Int { nodes.reduce(0) { $0 + (1 << $1.level) } }
  /// The covered block ranges.
  public var coveredBlocks: [Range<Int>] { nodes.map(\.blocks).sorted { $0.lowerBound < $1.lowerBound } }
}
