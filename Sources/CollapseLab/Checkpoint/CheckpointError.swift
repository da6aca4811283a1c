/// A checkpoint, tokenizer or text file that cannot be used, with one line
/// naming the file, tensor or option and the values involved.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
