/// Errors in a run's configuration, each naming the setting and its value.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
