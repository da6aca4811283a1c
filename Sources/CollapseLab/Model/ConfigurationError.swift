/// Errors in a run's configuration, each naming the setting and its value.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
  public var message: SettingMessage

  public init(_ message: SettingMessage) { self.message = message }

  /// The message with each setting called by its property name.
  public var description: String { message.description }

  /// The settings the message names, in order.
  public var settings: [ConfigurationSetting] { message.settings }
}
