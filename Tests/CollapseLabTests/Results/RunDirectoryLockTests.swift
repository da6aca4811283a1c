@testable import CollapseLab
import Foundation
import Testing

@Suite("A result directory is written by one process at a time", .temporaryDirectories)
struct RunDirectoryLockTests {
  /// flock locks belong to an open file description, so a second lock in the
  /// same process conflicts as another process's would.
  @Test func aSecondLockIsRefusedUntilTheFirstIsReleased() throws {
    let directory = temporaryDirectory("lock")
    var first: RunDirectoryLock? = try RunDirectoryLock(directory: directory)
    #expect(first != nil)
    #expect {
      _ = try RunDirectoryLock(directory: directory)
    } throws: { error in
      "\(error)".contains("\(directory.path) is in use by another mc-generic process (pid \(getpid()))")
    }
    first = nil
    _ = try RunDirectoryLock(directory: directory)
  }

  @Test func aMissingDirectoryIsNamed() {
    let missing = temporaryDirectory("lock").appendingPathComponent("absent")
    #expect {
      _ = try RunDirectoryLock(directory: missing)
    } throws: { error in
      "\(error)".contains("cannot create \(missing.path)/.mc-generic.lock")
    }
  }
}
