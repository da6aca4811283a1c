import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a result directory, held while a run or a
/// measurement writes to it, so that a second process started on the same
/// `--output` or `--resume` is refused instead of interleaving checkpoints.
///
/// `flock` on `DIR/.mc-generic.lock`, which holds the owner's pid for the
/// refusal message. The kernel releases the lock when the process exits,
/// however it exits (SIGKILL included), so a killed run never leaves a stale
/// lock; the file itself stays (removing it would let two processes lock two
/// different files). Released when this object is.
public final class RunDirectoryLock: Sendable {
  public static let fileName = ".mc-generic.lock"
  private let descriptor: Int32

  public init(directory: URL) throws(ConfigurationError) {
    let path = directory.appendingPathComponent(Self.fileName).path
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    if descriptor < 0 {
      throw ConfigurationError("cannot create \(path) to lock \(directory.path) (\(String(cString: strerror(errno))))")
    }
    if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      let failure = errno
      var owner = [UInt8](repeating: 0, count: 32)
      let count = pread(descriptor, &owner, owner.count, 0)
      close(descriptor)
      let pid = count > 0 ? Int(String(decoding: owner[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
      if failure == EWOULDBLOCK {
        throw ConfigurationError(
          "\(directory.path) is in use by another mc-generic process\(pid.map { " (pid \($0))" } ?? ""); wait for it to finish or stop it, or give another directory")
      }
      throw ConfigurationError("cannot lock \(path) (\(String(cString: strerror(failure))))")
    }
    let text = Array("\(getpid())\n".utf8)
    if ftruncate(descriptor, 0) == 0 { _ = pwrite(descriptor, text, text.count, 0) }
    self.descriptor = descriptor
  }

  deinit { close(descriptor) }
}
