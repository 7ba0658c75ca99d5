import XCTest
import DarkroomSupport
import DarkroomTensor

/// Which OpenBLAS kernel set Darkroom asks for, by a CPU's cpuid features and what OpenBLAS chose by itself.
final class OpenBLASCoreTypeTests: XCTestCase {
    static let avx512: Set<CPUInfo.Feature> = [.sse3, .ssse3, .sse41, .sse42, .avx, .avx2, .fma, .f16c, .avx512f, .avx512dq, .avx512bw, .avx512vl]
    static let avx2: Set<CPUInfo.Feature> = [.sse3, .ssse3, .sse41, .sse42, .avx, .avx2, .fma, .f16c]

    func testEachCPUGetsTheWidestKernelsItsFeaturesAllowWhenOpenBLASChoseNarrowerOnes() {
        // (what, CPU, OpenBLAS's own choice, what Darkroom asks for or nil to keep it)
        let table: [(String, CPUInfo, String, String?)] = [
            ("Emerald Rapids Xeon, unknown to OpenBLAS 0.3.21",
             CPUInfo(vendor: "GenuineIntel", family: 6, model: 207, features: Self.avx512.union([.avx512vnni, .avx512bf16, .avx512fp16])), "Prescott", "SKYLAKEX"),
            ("Sapphire Rapids with AMX, known", CPUInfo(vendor: "GenuineIntel", family: 6, model: 143, features: Self.avx512.union([.amx])), "SapphireRapids", nil),
            ("Cascade Lake, known", CPUInfo(vendor: "GenuineIntel", family: 6, model: 85, features: Self.avx512), "SkylakeX", nil),
            ("Zen 4 EPYC, AVX-512 taken as Zen", CPUInfo(vendor: "AuthenticAMD", family: 25, model: 17, features: Self.avx512), "Zen", "SKYLAKEX"),
            ("Zen 2 EPYC", CPUInfo(vendor: "AuthenticAMD", family: 23, model: 49, features: Self.avx2), "Zen", nil),
            ("a future AMD CPU OpenBLAS does not know", CPUInfo(vendor: "AuthenticAMD", family: 26, model: 2, features: Self.avx2), "Barcelona", "HASWELL"),
            ("Skylake client", CPUInfo(vendor: "GenuineIntel", family: 6, model: 94, features: Self.avx2), "Haswell", nil),
            ("AVX-512 CPU in a VM whose OS does not save ZMM (features without AVX-512)",
             CPUInfo(vendor: "GenuineIntel", family: 6, model: 106, features: Self.avx2), "Prescott", "HASWELL"),
            ("Ivy Bridge, AVX only", CPUInfo(vendor: "GenuineIntel", family: 6, model: 58, features: [.sse3, .ssse3, .sse41, .sse42, .avx]), "Prescott", "SANDYBRIDGE"),
            ("Ivy Bridge, known", CPUInfo(vendor: "GenuineIntel", family: 6, model: 58, features: [.sse3, .ssse3, .sse41, .sse42, .avx]), "Sandybridge", nil),
            ("Nehalem: no AVX, OpenBLAS's SSE choice stands", CPUInfo(vendor: "GenuineIntel", family: 6, model: 26, features: [.sse3, .ssse3, .sse41, .sse42]), "Nehalem", nil),
            ("a user-forced wider kernel is not narrowed", CPUInfo(vendor: "GenuineIntel", family: 6, model: 94, features: Self.avx2), "SkylakeX", nil),
        ]
        for (what, cpu, own, expected) in table {
            XCTAssertEqual(OpenBLASCoreType.replacement(for: cpu, openBLASChose: own), expected, what)
        }
    }

    func testCoreNamesAreRankedByVectorWidthWhateverTheirCase() {
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "SkylakeX"), 3)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "COOPERLAKE"), 3)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "haswell"), 2)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "Zen"), 2)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "Dhyana"), 2)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "Sandybridge"), 1)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "Prescott"), 0)
        XCTAssertEqual(OpenBLASCoreType.vectorLevel(of: "Core2"), 0)
    }

    func testThisCPUIsReadWithCpuidConsistently() {
        let cpu = CPUInfo.current
        #if arch(x86_64)
        XCTAssertFalse(cpu.vendor.isEmpty, "cpuid leaf 0 gives a vendor")
        XCTAssertGreaterThan(cpu.family, 0)
        // This build runs only where the start-up check passed: x86-64-v3.
        XCTAssertTrue(cpu.hasAVX2FMA, cpu.summary)
        if cpu.hasAVX512 { XCTAssertTrue(cpu.features.contains(.avx2), "AVX-512 CPUs have AVX2") }
        XCTAssertEqual(CPUFeatures.hasAVX512, cpu.hasAVX512)
        #endif
        XCTAssertTrue(cpu.summary.contains("family \(cpu.family) model \(cpu.model)"), cpu.summary)
    }

    func testTheKernelReportSaysWhoChoseIt() {
        let kernel = BLASKernel.current
        XCTAssertFalse(kernel.core.isEmpty)
        XCTAssertTrue(kernel.config.hasPrefix("OpenBLAS"), kernel.config)
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil
        XCTAssertEqual(kernel.chooser == .openBLAS, !forced, kernel.summary)
        XCTAssertTrue(kernel.summary.contains(kernel.core))
    }
}
