import CCPUID

/// The processor this process runs on, read once with cpuid: vendor, family/model/stepping, brand string and the
/// instruction-set features the engine chooses kernels by. The one place the CPU is detected (never /proc/cpuinfo,
/// which an emulator or a container passes through from the host); CCPUID decodes the feature bits, for this and
/// for the start-up check alike.
public struct CPUInfo: Sendable, Equatable {
    /// An instruction-set feature that some kernel or some BLAS core type needs.
    public enum Feature: String, Sendable, CaseIterable, Comparable {
        case sse3, ssse3, sse41 = "sse4.1", sse42 = "sse4.2", avx, avx2, fma, f16c
        case avx512f, avx512dq, avx512bw, avx512vl, avx512vnni = "avx512_vnni", avx512bf16 = "avx512_bf16", avx512fp16 = "avx512_fp16"
        case amx = "amx_tile"

        public static func < (a: Feature, b: Feature) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// "GenuineIntel", "AuthenticAMD", … ("" off x86-64).
    public var vendor: String
    /// The brand string, e.g. "Intel(R) Xeon(R) Processor".
    public var name: String
    /// Display family and model (extended fields folded in, as Linux's lscpu shows them).
    public var family: Int
    public var model: Int
    public var stepping: Int
    /// Features the CPU has and the OS saves the registers of (AVX needs XCR0's YMM bits, AVX-512 its ZMM bits).
    public var features: Set<Feature>

    public init(vendor: String, name: String = "", family: Int, model: Int, stepping: Int = 0, features: Set<Feature>) {
        self.vendor = vendor
        self.name = name
        self.family = family
        self.model = model
        self.stepping = stepping
        self.features = features
    }

    /// This machine's CPU.
    public static let current = CPUInfo.detect()

    /// AVX-512 F/DQ/BW/VL with the OS saving its registers: what DarkroomTensorAVX512's kernels need.
    public var hasAVX512: Bool { features.isSuperset(of: [.avx512f, .avx512dq, .avx512bw, .avx512vl]) }
    /// AVX2 and FMA with the OS saving the YMM registers.
    public var hasAVX2FMA: Bool { features.isSuperset(of: [.avx, .avx2, .fma]) }

    /// One line for logs and benchmark headers: name, vendor, family/model/stepping and the widest vector features.
    public var summary: String {
        let shown = features.sorted().filter { ![.sse3, .ssse3, .sse41, .sse42].contains($0) }.map(\.rawValue)
        return "\(name.isEmpty ? vendor : name) (\(vendor) family \(family) model \(model) stepping \(stepping); "
            + (shown.isEmpty ? "no AVX" : shown.joined(separator: " ")) + ")"
    }

    static func detect() -> CPUInfo {
        var r: [UInt32] = [0, 0, 0, 0]
        guard darkroom_cpuid(0, 0, &r) != 0 else { return CPUInfo(vendor: "", family: 0, model: 0, features: []) }
        let vendor = [r[1], r[3], r[2]].map(Self.ascii).joined()
        _ = darkroom_cpuid(1, 0, &r)
        let eax1 = r[0]
        let baseFamily = Int(eax1 >> 8 & 0xF), baseModel = Int(eax1 >> 4 & 0xF)
        let family = baseFamily == 0xF ? baseFamily + Int(eax1 >> 20 & 0xFF) : baseFamily
        let model = baseFamily == 0x6 || baseFamily == 0xF ? baseModel | Int(eax1 >> 16 & 0xF) << 4 : baseModel
        let bits = darkroom_cpu_features()
        let table: [(darkroom_cpu_feature, Feature)] = [
            (DARKROOM_SSE3, .sse3), (DARKROOM_SSSE3, .ssse3), (DARKROOM_SSE41, .sse41), (DARKROOM_SSE42, .sse42),
            (DARKROOM_AVX, .avx), (DARKROOM_AVX2, .avx2), (DARKROOM_FMA, .fma), (DARKROOM_F16C, .f16c),
            (DARKROOM_AVX512F, .avx512f), (DARKROOM_AVX512DQ, .avx512dq), (DARKROOM_AVX512BW, .avx512bw), (DARKROOM_AVX512VL, .avx512vl),
            (DARKROOM_AVX512VNNI, .avx512vnni), (DARKROOM_AVX512BF16, .avx512bf16), (DARKROOM_AVX512FP16, .avx512fp16), (DARKROOM_AMX_TILE, .amx),
        ]
        let features = Set(table.filter { bits >> UInt64($0.0.rawValue) & 1 == 1 }.map(\.1))
        var name = ""
        if darkroom_cpuid(0x8000_0004, 0, &r) != 0 {
            for leaf: UInt32 in 0x8000_0002...0x8000_0004 {
                _ = darkroom_cpuid(leaf, 0, &r)
                name += r.map(Self.ascii).joined()
            }
        }
        name = String(name.unicodeScalars.filter { $0.value != 0 }).strippingSpaces()
        return CPUInfo(vendor: vendor, name: name, family: family, model: model, stepping: Int(eax1 & 0xF), features: features)
    }

    private static func ascii(_ word: UInt32) -> String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }.filter { $0 != 0 }, as: UTF8.self)
    }
}

private extension String {
    func strippingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
