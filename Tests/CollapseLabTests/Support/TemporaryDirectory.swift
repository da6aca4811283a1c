import Foundation
import Testing

/// The per-test parent of every directory ``temporaryDirectory(_:)`` makes,
/// set by the ``TemporaryDirectoryScope`` trait and removed with all it holds
/// when the test ends, pass or fail.
enum TestScratch {
  @TaskLocal static var parent: URL?
}

/// A new empty directory for the running test, removed when the test ends.
/// The test's suite must carry `.temporaryDirectories`; without it this stops
/// the test, so that no test leaves files behind.
func temporaryDirectory(_ name: String) -> URL {
  guard let parent = TestScratch.parent else {
    preconditionFailure("temporaryDirectory(\"\(name)\") needs the suite trait .temporaryDirectories (it removes the directory afterwards)")
  }
  let url = parent.appendingPathComponent("\(name)-\(UInt64.random(in: 0...UInt64.max))")
  try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Gives each test of a suite its own scratch directory and removes it after
/// the test (``temporaryDirectory(_:)``).
struct TemporaryDirectoryScope: SuiteTrait, TestTrait, TestScoping {
  var isRecursive: Bool { true }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    guard testCase != nil else { return try await function() }  // the suite itself: its tests get their own
    let parent = FileManager.default.temporaryDirectory
      .appendingPathComponent("collapselab-tests-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: parent) }
    try await TestScratch.$parent.withValue(parent) { try await function() }
  }
}

extension Trait where Self == TemporaryDirectoryScope {
  /// Each test gets scratch directories that are removed when it ends.
  static var temporaryDirectories: Self { TemporaryDirectoryScope() }
}
