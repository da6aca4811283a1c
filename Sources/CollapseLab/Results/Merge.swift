import Foundation

/// Combines the states of runs of one identity over disjoint blocks (shards,
/// or a run and its continuation) into one; the canonical reduction makes the
/// result identical to a single run over the same samples.
public func mergeResults(from directories: [URL]) throws -> RunState {
  guard let first = directories.first else { throw ConfigurationError("merge needs at least one directory") }
  var merged = try RunState.read(from: first)
  merged.shard = .whole
  for directory in directories.dropFirst() {
    let other = try RunState.read(from: directory)
    if let difference = merged.identity.mismatch(with: other.identity) {
      throw ConfigurationError("cannot merge \(directory.path): its \(difference)")
    }
    try merged.tree.absorb(other.tree)
    merged.tallies.absorb(other.tallies)
    merged.completedSamples += other.completedSamples
    merged.elapsedSeconds = max(merged.elapsedSeconds, other.elapsedSeconds)
  }
  merged.perSampleBytes = nil
  return merged
}
