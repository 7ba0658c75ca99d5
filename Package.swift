// swift-tools-version:6.0
import PackageDescription

// Hot loops are written for the compiler to vectorise; on x86-64 let it use AVX2 and FMA (x86-64-v3, Haswell level,
// every x86 server CPU since 2015). On an older CPU every process stops before main with a message naming the missing
// features (CCPUID's constructor), never SIGILL. OpenBLAS picks its kernels when it loads from a table of CPU models;
// `darkroom` replaces a choice narrower than the CPU's features allow (BLASKernel.selectAtStartup).
#if arch(x86_64)
let cpuSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let cpuSettings: [SwiftSetting] = []
#endif
// The numeric targets are optimised in debug builds too: the test suite runs real models (IF stage II at 256², T5,
// training steps), which unoptimised Swift runs 20–100× slower.
let vectorSettings: [SwiftSetting] = cpuSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]

// The AVX-512 kernels: Skylake-AVX512-level code, run only where the CPU has it (checked at run time); optimised in
// debug builds too, as the numeric targets are (the direct convolutions run every small-UNet layer).
#if arch(x86_64)
let avx512Settings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "skylake-avx512"]), .unsafeFlags(["-O"], .when(configuration: .debug))]
#else
let avx512Settings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

let package = Package(
    name: "Darkroom",
    products: [
        .executable(name: "darkroom", targets: ["darkroom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libpng-dev, libgif-dev, zlib1g-dev, libdnnl-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CGIF", path: "Sources/CGIF", providers: [.apt(["libgif-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // oneDNN, the JIT-generated kernels PyTorch's CPU path runs on (Debian: libdnnl-dev, OpenMP threading),
        // opened on first use so that its OpenMP threads can be told to wait passively.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dl")]),
        // File operations Swift's Glibc does not expose (renameat2 with RENAME_NOREPLACE).
        .target(name: "CFileOps"),
        // PNG and JPEG decoding with libpng's and libjpeg's error exits caught (setjmp), in C (libjpeg62-turbo-dev).
        .target(name: "CImageDecode", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // The cpuid and xgetbv instructions, and the start-up check that the CPU runs this build (baseline x86-64 C).
        .target(name: "CCPUID"),
        // Atomic files, the JSON field reader, content hashing, the error that names a field, and the CPU's features.
        .target(name: "DarkroomSupport", dependencies: ["CCPUID"]),
        // Engine kernels built for AVX-512, called only on CPUs that have it.
        .target(name: "DarkroomTensorAVX512", swiftSettings: avx512Settings),
        // The Float32 NCHW tensor engine on OpenBLAS, and safetensors I/O.
        .target(name: "DarkroomTensor", dependencies: ["CBLAS", "CDNNL", "DarkroomSupport", "DarkroomTensorAVX512"], swiftSettings: vectorSettings),
        // Prompts to token ids: SentencePiece unigram models, and T5's tokenizer as transformers runs it.
        .target(name: "DarkroomText"),
        // Neural networks built on the engine: the small UNet, DeepFloyd IF's UNet and its T5 text encoder.
        .target(name: "DarkroomModels", dependencies: ["DarkroomTensor", "DarkroomDiffusion", "DarkroomText", "DarkroomSupport"], swiftSettings: vectorSettings),
        // What a job is, as plain values every layer shares: the edit request, the job, its state, files, progress, timings, claims, the folder layout.
        .target(name: "DarkroomJobModel", dependencies: ["DarkroomSupport"]),
        // Noise schedules, the forward process, samplers and edits, for any denoiser.
        .target(name: "DarkroomDiffusion", dependencies: ["DarkroomTensor", "DarkroomJobModel"], swiftSettings: vectorSettings),
        // PNG and JPEG input as Pillow reads it, PNG and GIF output, resizing, contact sheets.
        .target(name: "DarkroomImaging", dependencies: ["DarkroomSupport", "DarkroomTensor", "CImageDecode", "CPNG", "CGIF", "CZlib"], swiftSettings: vectorSettings),
        // The job contract (sidecar, config.json) and running one job from files to files.
        .target(name: "DarkroomJobs", dependencies: ["DarkroomSupport", "DarkroomJobModel", "DarkroomTensor", "DarkroomDiffusion", "DarkroomModels", "DarkroomText", "DarkroomImaging"]),
        // The job queue and history behind one protocol, in SQLite (GRDB) or PostgreSQL (postgres-nio): migrations, leased claims, fencing, cancel and pause.
        .target(name: "DarkroomStore", dependencies: ["DarkroomSupport", "DarkroomJobModel", .product(name: "GRDB", package: "GRDB.swift"),
                                                    .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                                    .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        // The static HTML gallery rendered from the database with Mustache templates.
        .target(name: "DarkroomGallery", dependencies: ["DarkroomSupport", "DarkroomStore", "DarkroomJobModel", "DarkroomJobs", "DarkroomTensor", .product(name: "Mustache", package: "swift-mustache")],
                resources: [.copy("Templates")]),
        // Notices of ended jobs: the event, its formats (json, ntfy, a command's stdin), and the one sender that
        // delivers the database's outbox with retries (async-http-client).
        .target(name: "DarkroomNotify", dependencies: ["DarkroomSupport", "DarkroomJobModel", "DarkroomStore",
                                                      .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                      .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                                                      .product(name: "Logging", package: "swift-log")]),
        // The inbox daemon: inotify watcher, intake, worker, systemd notification.
        .target(name: "DarkroomDaemon", dependencies: ["CFileOps", "DarkroomNotify", "DarkroomSupport", "DarkroomTensor", "DarkroomModels", "DarkroomJobModel", "DarkroomJobs", "DarkroomStore", "DarkroomGallery", .product(name: "Logging", package: "swift-log")]),
        // Training from scratch: backward passes, Adam, IDX data, objectives, checkpoints, reports and sample evaluation.
        .target(name: "DarkroomTraining", dependencies: ["DarkroomSupport", "DarkroomJobModel", "DarkroomTensor", "DarkroomModels", "DarkroomDiffusion", "DarkroomImaging", "CZlib"], swiftSettings: vectorSettings),
        // Benchmarks that print the figures issues ask for: forward, generate, training, outputs, DeepFloyd IF.
        .target(name: "DarkroomBench", dependencies: ["DarkroomSupport", "DarkroomJobModel", "DarkroomTensor", "DarkroomModels", "DarkroomDiffusion", "DarkroomTraining", "DarkroomImaging", "DarkroomJobs", "DarkroomStore", "DarkroomGallery", "DarkroomDaemon"]),
        // The command-line tool.
        .executableTarget(
            name: "darkroom",
            dependencies: [
                "DarkroomSupport", "DarkroomJobModel", "DarkroomTensor", "DarkroomText", "DarkroomModels", "DarkroomTraining", "DarkroomDiffusion", "DarkroomImaging", "DarkroomJobs", "DarkroomStore", "DarkroomDaemon", "DarkroomGallery", "DarkroomBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Shared helpers for the test targets (fixture lookup, tolerant comparisons).
        .target(name: "DarkroomTestSupport", dependencies: ["DarkroomTensor"], path: "Tests/DarkroomTestSupport"),
        .testTarget(name: "DarkroomTensorTests", dependencies: ["DarkroomTensor", "DarkroomSupport", "DarkroomTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomTextTests", dependencies: ["DarkroomText", "DarkroomTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomModelsTests", dependencies: ["DarkroomModels", "DarkroomJobModel", "DarkroomTestSupport", "DarkroomDiffusion", "DarkroomTensor", "DarkroomText"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomDiffusionTests", dependencies: ["DarkroomDiffusion", "DarkroomJobModel", "DarkroomSupport", "DarkroomModels", "DarkroomTestSupport", "DarkroomTensor"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomImagingTests", dependencies: ["DarkroomImaging", "DarkroomTestSupport", "DarkroomTensor"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomJobsTests", dependencies: ["DarkroomJobs", "DarkroomJobModel", "DarkroomSupport", "DarkroomTraining", "DarkroomTestSupport", "DarkroomDiffusion", "DarkroomImaging", "DarkroomModels", "DarkroomTensor"]),
        .testTarget(name: "DarkroomStoreTests", dependencies: ["DarkroomStore", "DarkroomJobModel", "DarkroomSupport", "DarkroomTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DarkroomDaemonTests", dependencies: ["DarkroomDaemon", "DarkroomJobModel", "DarkroomSupport", "DarkroomStore", "DarkroomTraining", "DarkroomImaging", "DarkroomTestSupport", "DarkroomJobs", "DarkroomModels", "DarkroomTensor", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DarkroomNotifyTests", dependencies: ["DarkroomNotify", "DarkroomJobModel", "DarkroomStore"]),
        .testTarget(name: "DarkroomGalleryTests", dependencies: ["DarkroomGallery", "DarkroomJobModel", "DarkroomSupport", "DarkroomStore", "DarkroomTestSupport", "DarkroomDiffusion"]),
        .testTarget(name: "DarkroomTrainingTests", dependencies: ["DarkroomTraining", "DarkroomJobModel", "DarkroomSupport", "DarkroomTestSupport", "DarkroomModels", "DarkroomTensor"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
