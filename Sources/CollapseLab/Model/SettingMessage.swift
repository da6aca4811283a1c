/// An error message that keeps the settings it names as values: written as
/// a string with settings interpolated (`"\(.layers) must be positive"`), any
/// other interpolated value taken as its description. The library prints a
/// setting by its property name; a command-line tool by its flag.
public struct SettingMessage: ExpressibleByStringInterpolation, Equatable, CustomStringConvertible, Sendable {
  public enum Piece: Equatable, Sendable {
    case text(String)
    case setting(ConfigurationSetting)
  }
  public var pieces: [Piece]

  /// The message with each setting called `name(setting)`.
  public func rendered(naming name: (ConfigurationSetting) -> String) -> String {
    pieces.map { piece in
      switch piece {
      case .text(let text): text
      case .setting(let setting): name(setting)
      }
    }.joined()
  }

  /// The message with each setting called by its property name.
  public var description: String { rendered(naming: \.name) }

  /// Messages are equal when they read the same and name the same settings
  /// in the same places, however their text was split.
  public static func == (lhs: SettingMessage, rhs: SettingMessage) -> Bool {
    lhs.mergingText() == rhs.mergingText()
  }

  private func mergingText() -> [Piece] {
    var merged: [Piece] = []
    for piece in pieces {
      if case .text(let next) = piece, case .text(let previous)? = merged.last {
        merged[merged.count - 1] = .text(previous + next)
      } else {
        merged.append(piece)
      }
    }
    return merged
  }

  /// The settings the message names, in order.
  public var settings: [ConfigurationSetting] {
    pieces.compactMap { if case .setting(let setting) = $0 { setting } else { nil } }
  }

  public init(stringLiteral value: String) { pieces = [.text(value)] }
  public init(stringInterpolation: StringInterpolation) { pieces = stringInterpolation.pieces }

  public struct StringInterpolation: StringInterpolationProtocol {
    var pieces: [Piece] = []
    public init(literalCapacity: Int, interpolationCount: Int) {}
    public mutating func appendLiteral(_ literal: String) { if !literal.isEmpty { pieces.append(.text(literal)) } }
    public mutating func appendInterpolation(_ setting: ConfigurationSetting) { pieces.append(.setting(setting)) }
    /// Another message, its settings kept.
    public mutating func appendInterpolation(_ message: SettingMessage) { pieces += message.pieces }
    public mutating func appendInterpolation<T>(_ value: T) { pieces.append(.text(String(describing: value))) }
  }
}
