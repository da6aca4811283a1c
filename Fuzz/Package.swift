// swift-tools-version: 6.2
//
// libFuzzer targets for every parser that reads a user's file, kept in their
// own package so that normal builds never link libFuzzer. Build and run with
// Tools/fuzz.sh (it passes -sanitize=fuzzer,address and lld); by hand:
//
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address \
//     -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
//   SWIFT_BACKTRACE=enable=no Fuzz/.build/debug/FuzzParsers gguf Fuzz/Corpus/gguf -max_total_time=60

import PackageDescription

let package = Package(
  name: "RankKernelsFuzz",
  dependencies: [
    // `name:` pins the identity (a path dependency is otherwise named after the checkout directory).
    .package(name: "RankKernels", path: ".."),
  ],
  targets: [
    .executableTarget(
      name: "FuzzParsers",
      dependencies: [.product(name: "CollapseLab", package: "RankKernels")]
    ),
  ]
)
