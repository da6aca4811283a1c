/// A checkpoint, tokenizer, text or hidden-state file that cannot be used,
/// with one line naming the file, tensor or setting and the values involved.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
  public var message: SettingMessage

  public init(_ message: SettingMessage) { self.message = message }

  /// The message with each setting called by its property name.
  public var description: String { message.description }
}
