// swift-tools-version: 6.2
//
// RankKernels: hand-tuned SIMD, multithreaded CPU kernels for the numerical
// study of Transformers, with a run-time switch to OpenBLAS/LAPACKE.
//
// Why 6.2: SwiftPM only accepts `unsafeFlags` in a dependency required by
// version when the dependency's manifest declares tools-version >= 6.2, and
// the kernels need `-mavx2 -mfma` to lower `SIMD8<Float>.addingProduct` to
// `vfmadd…ps ymm` instead of eight `fmaf` library calls.

import PackageDescription

// MARK: - Code generation

/// AVX2 + FMA for the kernel module on x86-64 hosts. Swift takes its target
/// features from the Clang importer's options, so these are passed with -Xcc.
/// On other architectures (arm64: NEON and FMA are baseline) no flag is needed.
/// A binary built this way refuses to start, with a message, on an x86-64 CPU
/// without AVX2/FMA (see Sources/_RankKernelsCPU).
#if arch(x86_64)
let kernelSwiftSettings: [SwiftSetting] = [
  .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"]),
  .define("RANKKERNELS_AVX2"),
]
/// AVX-512F for the micro-kernels of `_RankKernelsAVX512` only; RankKernels
/// calls them after the load-time check has found AVX-512F on the CPU.
let avx512SwiftSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx512f", "-Xcc", "-mfma"])]
let cpuGuardCSettings: [CSetting] = [
  .define("RANKKERNELS_REQUIRE_AVX2_FMA"), .define("RANKKERNELS_HAS_AVX512_MODULE"),
]
#else
let kernelSwiftSettings: [SwiftSetting] = []
let avx512SwiftSettings: [SwiftSetting] = []
let cpuGuardCSettings: [CSetting] = []
#endif

/// The lanewise modules are compiled optimised in every configuration: their
/// code is generic over the vector width, and unspecialised generic SIMD code
/// at -Onone runs through witness tables lane by lane (a debug `swift test`
/// took twice as long with the random numbers there).
let alwaysOptimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
  name: "RankKernels",
  products: [
    // MARK: Public API
    .library(name: "RankKernels", targets: ["RankKernels"]),
    .library(name: "CollapseLab", targets: ["CollapseLab"]),
    .executable(name: "mc-generic", targets: ["mc-generic"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // SHA-256 of checkpoints and texts (BoringSSL's assembly: ~1.5 GB/s, where a
    // portable Swift loop would take longer than loading the weights).
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    // `swift package generate-documentation` for the DocC catalogs (CI builds them, warnings as errors).
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // MARK: Implementation details

    /// Load-time CPU check, compiled without AVX flags so it can run on any
    /// x86-64 CPU and explain the refusal instead of dying on SIGILL; and the
    /// optimisation barrier `_RankKernelsAVX512` applies to 16-lane results
    /// (RankKernelsOpaque.h, declared only where AVX-512F is enabled).
    .target(
      name: "_RankKernelsCPU",
      cSettings: cpuGuardCSettings
    ),

    /// Lanewise code (the random numbers' Philox and Box–Muller) written once
    /// for any vector width: instantiated here at 8 lanes with AVX2 (the
    /// entry points RankKernels calls), and `@inlinable`, so that
    /// _RankKernelsAVX512 specialises it at 16 lanes with AVX-512.
    .target(name: "_RankKernelsLanes", swiftSettings: kernelSwiftSettings + alwaysOptimised),

    /// The AVX-512 micro-kernels and random fills, the only code compiled with
    /// -mavx512f (an empty module off x86-64). Reached only through
    /// RankKernels' dispatch.
    .target(
      name: "_RankKernelsAVX512",
      dependencies: ["_RankKernelsCPU", "_RankKernelsLanes"],
      swiftSettings: avx512SwiftSettings + alwaysOptimised
    ),

    // MARK: Kernels
    .target(
      name: "RankKernels",
      dependencies: ["_RankKernelsCPU", "_RankKernelsLanes", "_RankKernelsAVX512"],
      swiftSettings: kernelSwiftSettings,
      linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
    ),

    // MARK: Monte Carlo rank tracking
    .target(
      name: "CollapseLab",
      dependencies: ["RankKernels", .product(name: "Crypto", package: "swift-crypto")]
    ),
    .executableTarget(
      name: "mc-generic",
      dependencies: [
        "CollapseLab", "RankKernels",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: Tools
    .executableTarget(
      name: "kernel-compare",
      dependencies: [
        "RankKernels",
        "CollapseLab",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Tools/kernel-compare"
    ),

    // MARK: Examples
    /// The README's library snippets, compiled and run by CI (Examples/main.swift).
    .executableTarget(
      name: "rankkernels-examples",
      dependencies: ["RankKernels"],
      path: "Examples"
    ),

    // MARK: Tests
    .testTarget(
      name: "RankKernelsTests",
      dependencies: ["RankKernels", "_AllocationCounter"]
    ),
    /// Counts a thread's heap allocations (interposes malloc in the test
    /// executable; nothing under a sanitizer) for the allocation tests.
    .target(
      name: "_AllocationCounter",
      path: "Tests/_AllocationCounter"
    ),
    .testTarget(
      name: "CollapseLabTests",
      dependencies: ["CollapseLab", "RankKernels", "_AllocationCounter"]
    ),
    /// In-process parsing and validation of every subcommand (the shell smoke
    /// test, Tools/smoke-mc-generic.sh, runs the built executable).
    .testTarget(
      name: "MCGenericTests",
      dependencies: ["mc-generic", "CollapseLab", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
  ]
)
