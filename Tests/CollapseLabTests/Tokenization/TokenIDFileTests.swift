import CollapseLab
import Foundation
import Testing

@Suite("Token-id files")
struct TokenIDFileTests {
  @Test func readsWindows() throws {
    let text = "[1, 2, 3]\n\n [4,5,6] \n"
    #expect(try tokenIDWindows(Data(text.utf8), source: "f", sequenceLength: 3, vocabularySize: 10) == [[1, 2, 3], [4, 5, 6]])
  }

  @Test(arguments: [
    ("[1, 2]\n", "line 1 has 2 ids; every window must have sequenceLength 3"), ("[1, 2, 10]", "'10', not a token id in 0..<10"),
    ("[1, 2.0, 3]", "'2.0', not a token id"), ("1, 2, 3", "line 1 is not a JSON array"), ("\n\n", "no windows"),
    ("[1,,2]", "'', not a token id"),
  ])
  func refusesBadLines(text: String, message: String) {
    #expect { try tokenIDWindows(Data(text.utf8), source: "f", sequenceLength: 3, vocabularySize: 10) } throws: {
      ($0 as? CheckpointError)?.description.contains(message) == true
    }
  }
}
