// swift-tools-version: 6.1
//
// The package-benchmark suite of RankKernels, kept in its own package so that
// neither users of the library nor the library's CI build the benchmark
// framework (or its malloc interposer).
//
//   cd Benchmarks
//   swift package benchmark                                  # run everything
//   swift package benchmark --filter "sgemm.*"               # a subset
//   swift package --allow-writing-to-package-directory benchmark baseline update main
//   swift package benchmark baseline compare main            # against a saved baseline

import PackageDescription

let package = Package(
  name: "RankKernelsBenchmarks",
  platforms: [.macOS(.v14)],
  dependencies: [
    // `name:` pins the identity: a path dependency is otherwise named after
    // the checkout directory, which differs between clones.
    .package(name: "RankKernels", path: ".."),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "KernelBenchmarks",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "RankKernels", package: "RankKernels"),
        .product(name: "CollapseLab", package: "RankKernels"),
      ],
      path: "Benchmarks/KernelBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
  ]
)
