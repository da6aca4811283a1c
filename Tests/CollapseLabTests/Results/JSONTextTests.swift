@testable import CollapseLab
import Foundation
import Testing

@Suite("Pretty JSON text for summary.json")
struct JSONTextTests {
  /// Every kind of value the summary holds reads back as written, keys in
  /// code-point order, strings escaped.
  @Test func documentsReadBackAsWritten() throws {
    let document: [String: Any] = [
      "b_second": [1, 2, 3], "a_first": ["nested": 0.1, "Upper": -2.5e-300, "empty": [String: Any](), "none": [Any]()],
      "c": "quote \" backslash \\ newline \n tab \t bell \u{07} é/", "d": true, "e": NSNull(), "f": UInt64.max,
      "g": try JSONSerialization.jsonObject(with: Data(#"{"x": [1], "t": true, "n": 0, "f": 1.5, "i": 10000, "e": 1e-12}"#.utf8)), "h": [1.5, false, "s", Double.nan, -Double.infinity] as [Any], "a_": 7,
    ]
    let text = prettyJSONText(document)
    let parsed = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(Set(parsed.keys) == Set(document.keys))
    #expect((parsed["b_second"] as? [Int]) == [1, 2, 3])
    let first = try #require(parsed["a_first"] as? [String: Any])
    #expect(first["nested"] as? Double == 0.1 && first["Upper"] as? Double == -2.5e-300)
    #expect((first["empty"] as? [String: Any])?.isEmpty == true && (first["none"] as? [Any])?.isEmpty == true)
    #expect(parsed["c"] as? String == document["c"] as? String)
    #expect(parsed["d"] as? Bool == true && parsed["e"] is NSNull)
    #expect((parsed["f"] as? NSNumber)?.uint64Value == UInt64.max)
    // A parsed document's NSNumbers keep booleans, integers and fractions apart.
    let g = try #require(parsed["g"] as? [String: Any])
    let yes = try #require(g["t"] as? NSNumber), zero = try #require(g["n"] as? NSNumber)
    #expect((g["x"] as? [Int]) == [1] && isJSONBoolean(yes) && yes.boolValue)
    #expect(!isJSONBoolean(zero) && zero.intValue == 0 && g["i"] as? Int == 10000)
    #expect(g["f"] as? Double == 1.5 && g["e"] as? Double == 1e-12)
    #expect(text.contains("\"t\" : true") && text.contains("\"n\" : 0,") && text.contains("\"i\" : 10000"))
    #expect(parsed["a_"] as? Int == 7)
    let mixed = try #require(parsed["h"] as? [Any])
    #expect(mixed.count == 5 && mixed[0] as? Double == 1.5 && mixed[2] as? String == "s" && mixed[3] is NSNull && mixed[4] is NSNull)
    // Sorted by code point at each level: "a_" before "a_first" before "b_second", "Upper" before "empty".
    for keys in [["a_", "a_first", "b_second", "c"], ["Upper", "empty", "nested", "none"]] {
      let positions = keys.map { text.range(of: "\"\($0)\" : ")!.lowerBound }
      #expect(positions == positions.sorted(), "\(keys)")
    }
  }
}
