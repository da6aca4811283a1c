import Foundation

/// The arrays of a NumPy `.npz` file: a ZIP archive of `.npy` members, as
/// `np.savez` writes it (stored, not compressed; ZIP64 where needed).
///
/// Only the central directory and each member's local header are read; the
/// members' data are then read in slices like a `.npy` file's.
/// `np.savez_compressed` members (deflate) are refused: a compressed member
/// cannot be read one sequence at a time.
enum NPZArchive {
  private static let endOfDirectorySignature: UInt32 = 0x0605_4b50
  private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
  private static let zip64EndSignature: UInt32 = 0x0606_4b50
  private static let directoryEntrySignature: UInt32 = 0x0201_4b50
  private static let localHeaderSignature: UInt32 = 0x0403_4b50

  /// The members' arrays in directory order, named without `.npy`.
  static func arrays(in file: ReadOnlyFile) throws(CheckpointError) -> [StoredArray] {
    let path = file.path
    let length = file.length
    // The end-of-directory record (22 bytes) follows an optional comment of at most 65,535 bytes.
    let tailLength = min(length, 22 + 65_535)
    guard tailLength >= 22 else { throw CheckpointError("\(path): truncated .npz (\(length) bytes; not a ZIP archive)") }
    let tail = [UInt8](try file.bytes(at: length - tailLength, count: tailLength))
    guard let endIndex = stride(from: tailLength - 22, through: 0, by: -1).first(where: { u32(tail, $0) == endOfDirectorySignature }) else {
      throw CheckpointError("\(path): not a .npz (no ZIP end-of-directory record)")
    }
    var entryCount = Int(u16(tail, endIndex + 10))
    var directorySize = Int(u32(tail, endIndex + 12))
    var directoryOffset = Int(u32(tail, endIndex + 16))
    if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
      // ZIP64: a locator just before the record points at the ZIP64 end record.
      let locatorIndex = endIndex - 20
      guard locatorIndex >= 0, u32(tail, locatorIndex) == zip64LocatorSignature else {
        throw CheckpointError("\(path): .npz needs ZIP64 records that are missing")
      }
      let recordOffset = Int(clamping: u64(tail, locatorIndex + 8))
      guard recordOffset >= 0, recordOffset <= length - 56 else { throw CheckpointError("\(path): ZIP64 record offset \(recordOffset) outside the file") }
      let record = [UInt8](try file.bytes(at: recordOffset, count: 56))
      guard u32(record, 0) == zip64EndSignature else { throw CheckpointError("\(path): ZIP64 end record not found at offset \(recordOffset)") }
      entryCount = Int(clamping: u64(record, 32))
      directorySize = Int(clamping: u64(record, 40))
      directoryOffset = Int(clamping: u64(record, 48))
    }
    guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= length, directorySize <= length - directoryOffset else {
      throw CheckpointError("\(path): ZIP directory (offset \(directoryOffset), \(directorySize) bytes) outside the file (\(length) bytes): truncated")
    }
    guard entryCount <= directorySize / 46 else { throw CheckpointError("\(path): ZIP directory claims \(entryCount) entries in \(directorySize) bytes") }
    let directory = [UInt8](try file.bytes(at: directoryOffset, count: directorySize))
    var arrays: [StoredArray] = []
    var position = 0
    for _ in 0..<entryCount {
      guard position + 46 <= directory.count, u32(directory, position) == directoryEntrySignature else {
        throw CheckpointError("\(path): ZIP directory entry \(arrays.count) is damaged")
      }
      let method = u16(directory, position + 10)
      var compressedSize = UInt64(u32(directory, position + 20))
      var size = UInt64(u32(directory, position + 24))
      let nameLength = Int(u16(directory, position + 28))
      let extraLength = Int(u16(directory, position + 30))
      let commentLength = Int(u16(directory, position + 32))
      var localOffset = UInt64(u32(directory, position + 42))
      let next = position + 46 + nameLength + extraLength + commentLength
      guard next <= directory.count else { throw CheckpointError("\(path): ZIP directory entry \(arrays.count) runs past the directory") }
      let nameBytes = directory[(position + 46)..<(position + 46 + nameLength)]
      let fileName = String(decoding: nameBytes, as: UTF8.self)
      // ZIP64 extended information: the 8-byte values of the fields set to 0xFFFFFFFF, in this order.
      var extra = position + 46 + nameLength
      let extraEnd = extra + extraLength
      while extra + 4 <= extraEnd {
        let id = u16(directory, extra), size16 = Int(u16(directory, extra + 2))
        if id == 1 {
          var field = extra + 4
          func take() -> UInt64? {
            guard field + 8 <= min(extraEnd, extra + 4 + size16) else { return nil }
            defer { field += 8 }
            return u64(directory, field)
          }
          if size == 0xFFFF_FFFF, let value = take() { size = value }
          if compressedSize == 0xFFFF_FFFF, let value = take() { compressedSize = value }
          if localOffset == 0xFFFF_FFFF, let value = take() { localOffset = value }
        }
        extra += 4 + size16
      }
      position = next
      let name = fileName.hasSuffix(".npy") ? String(fileName.dropLast(4)) : fileName
      if method != 0 {
        throw CheckpointError("\(path): member '\(fileName)' is compressed (method \(method)); np.savez_compressed files cannot be read a sequence at a time: save with np.savez")
      }
      guard size == compressedSize, localOffset <= UInt64(length), size <= UInt64(length) else {
        throw CheckpointError("\(path): member '\(fileName)' has inconsistent sizes (\(compressedSize) stored, \(size) plain, at offset \(localOffset))")
      }
      let local = [UInt8](try file.bytes(at: Int(localOffset), count: min(30, length - Int(localOffset))))
      guard local.count == 30, u32(local, 0) == localHeaderSignature else {
        throw CheckpointError("\(path): member '\(fileName)' has no local header at offset \(localOffset)")
      }
      let dataOffset = Int(localOffset) + 30 + Int(u16(local, 26)) + Int(u16(local, 28))
      let (dataEnd, overflow) = dataOffset.addingReportingOverflow(Int(size))
      guard !overflow, dataEnd <= length else {
        throw CheckpointError("\(path): member '\(fileName)' (\(size) bytes at \(dataOffset)) runs past the end of the file (\(length) bytes): truncated")
      }
      arrays.append(try NumpyFormat.array(in: file, at: dataOffset, end: dataEnd, name: name))
    }
    return arrays
  }

  private static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
  private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(bytes, at)) | UInt32(u16(bytes, at + 2)) << 16 }
  private static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32 }
}
