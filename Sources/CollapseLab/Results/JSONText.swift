import Foundation

/// `object` as pretty-printed JSON (two-space indents, `"key" : value`, keys
/// in code-point order), as `JSONSerialization`'s `[.prettyPrinted,
/// .sortedKeys]` lays it out. Foundation sorts keys with a locale-aware
/// string comparison through ICU: for the default run's summary (~5,400
/// keys) that took ~0.1 s of every checkpoint, with every worker idle.
///
/// Values may be `[String: Any]`, `[Any]`, `String`, integers, `Bool`,
/// `Double`, `NSNull` and the `NSNumber`s of a parsed document. Doubles are
/// written in Swift's shortest round-trip form, non-finite ones (which JSON
/// cannot hold) as null.
func prettyJSONText(_ object: Any) -> String {
  var text = ""
  text.reserveCapacity(1 << 18)
  appendJSON(object, indent: 0, to: &text)
  return text
}

private func appendJSON(_ value: Any, indent: Int, to text: inout String) {
  // Exact types first: a conditional cast of a Swift collection to another
  // collection or to String tries Foundation's bridging on Linux, which cost
  // more than the writing itself.
  let type = Swift.type(of: value)
  if type == Int.self {
    text += String(value as! Int)
  } else if type == Double.self {
    let number = value as! Double
    text += number.isFinite ? number.description : "null"  // JSON has no NaN or infinity
  } else if type == Bool.self {
    text += (value as! Bool) ? "true" : "false"
  } else if type == String.self {
    appendJSONString(value as! String, to: &text)
  } else if type == [String: Any].self {
    appendObject(value as! [String: Any], indent: indent, to: &text)
  } else if type == [Any].self {
    appendArray(value as! [Any], indent: indent, to: &text)
  } else if type == [[String: Any]].self {
    appendArray(value as! [[String: Any]], indent: indent, to: &text)
  } else if type == [Int].self {
    appendArray(value as! [Int], indent: indent, to: &text)
  } else if value is NSNull {
    text += "null"
  } else if let number = value as? NSNumber {
    // A parsed document's numbers and booleans (the model configuration's).
    if isJSONBoolean(number) {
      text += number.boolValue ? "true" : "false"
    } else if isJSONFraction(number) {
      appendJSON(number.doubleValue, indent: indent, to: &text)
    } else {
      text += number.description  // an integer, exactly
    }
  } else if let integer = value as? any BinaryInteger {
    text += "\(integer)"
  } else if let string = value as? String {
    appendJSONString(string, to: &text)
  } else if let object = value as? [String: Any] {
    appendObject(object, indent: indent, to: &text)
  } else if let array = value as? [Any] {
    appendArray(array, indent: indent, to: &text)
  } else {
    preconditionFailure("prettyJSONText: no JSON form for a value of type \(type)")
  }
}

private func appendObject(_ object: [String: Any], indent: Int, to text: inout String) {
  if object.isEmpty { text += "{}"; return }
  let inner = String(repeating: " ", count: indent + 2)
  text += "{\n"
  for (position, key) in object.keys.sorted().enumerated() {
    if position > 0 { text += ",\n" }
    text += inner
    appendJSONString(key, to: &text)
    text += " : "
    appendJSON(object[key]!, indent: indent + 2, to: &text)
  }
  text += "\n" + String(repeating: " ", count: indent) + "}"
}

private func appendArray<Element>(_ array: [Element], indent: Int, to text: inout String) {
  if array.isEmpty { text += "[]"; return }
  let inner = String(repeating: " ", count: indent + 2)
  text += "[\n"
  for (position, element) in array.enumerated() {
    if position > 0 { text += ",\n" }
    text += inner
    appendJSON(element, indent: indent + 2, to: &text)
  }
  text += "\n" + String(repeating: " ", count: indent) + "]"
}

/// `string` quoted, with `"`, `\` and the control characters escaped.
private func appendJSONString(_ string: String, to text: inout String) {
  text += "\""
  for scalar in string.unicodeScalars {
    switch scalar {
    case "\"": text += "\\\""
    case "\\": text += "\\\\"
    case "\n": text += "\\n"
    case "\r": text += "\\r"
    case "\t": text += "\\t"
    case _ where scalar.value < 0x20:
      let hex = String(scalar.value, radix: 16)
      text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default: text.unicodeScalars.append(scalar)
    }
  }
  text += "\""
}

/// JSONSerialization gives true and false as NSNumbers of Objective-C type
/// `c` (char); integers are `i`/`q` and fractions `d`.
func isJSONBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

/// Whether `number` was parsed from a JSON fraction or exponent (type `d` or `f`).
private func isJSONFraction(_ number: NSNumber) -> Bool {
  let type = String(cString: number.objCType)
  return type == "d" || type == "f"
}
