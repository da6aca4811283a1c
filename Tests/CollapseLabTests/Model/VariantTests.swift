@testable import CollapseLab
import Testing

@Suite("Variant names")
struct VariantTests {
  @Test(arguments: [
    ("attn+ln", "attn+ln"), ("attn+ln+mlp+res-mlp", "attn+ln+mlp+res-mlp"), ("attn+res-mlp+mlp+ln", "attn+ln+mlp+res-mlp"),
    ("attn+res-attn+res-mlp+ln+mlp", "attn+res+ln+mlp"), ("attn+res-attn+ln+mlp", "attn+res-attn+ln+mlp"),
    ("attn+ln+res", "attn+res+ln"), ("attn+res", "attn+res"),
  ])
  func canonicalNames(name: String, canonical: String) throws {
    let variant = try Variant(parsing: name)
    #expect(variant.description == canonical)
    #expect(try Variant(parsing: variant.description) == variant)
  }

  @Test func residualComponentsMeanWhatTheySay() throws {
    let sanMLP = try Variant(parsing: "attn+ln+mlp+res-mlp")
    #expect(!sanMLP.attentionResidual && sanMLP.feedForwardResidual && !sanMLP.residual)
    let both = try Variant(parsing: "attn+res+ln+mlp")
    #expect(both.attentionResidual && both.feedForwardResidual && both == Variant(residual: true, postLayerNorm: true, mlp: true))
  }

  @Test(arguments: [
    ("attn+res-mlp", "needs the 'mlp'"), ("attn+res+res-attn", "already puts a residual"), ("attn++ln", "empty component"),
    ("attn+ln+", "empty component"),
  ])
  func malformedVariantsAreRefused(name: String, message: String) {
    #expect { try Variant(parsing: name) } throws: { ($0 as? ConfigurationError)?.description.contains(message) == true }
  }

  @Test(arguments: [
    ("attn,,attn+res", "entry 2 is empty"), ("attn,attn+res,", "entry 3 is empty"), (",attn", "entry 1 is empty"),
    ("attn+ln+res,attn+res+ln", "'attn+res+ln' is the same variant as 'attn+ln+res'"),
  ])
  func malformedListsAreRefused(list: String, message: String) {
    #expect { try Variant.parseList(list) } throws: { ($0 as? ConfigurationError)?.description.contains(message) == true }
  }
}
