/// Which of OpenBLAS's kernel sets ("core types") a CPU should run, by its instruction-set features alone.
///
/// OpenBLAS picks its kernels from a table of CPU models when it loads; a model newer than its table (Debian
/// bookworm's 0.3.21 on an Emerald Rapids Xeon) falls back to Prescott's SSE3 kernels, 4–5× slower. Darkroom
/// therefore asks for the widest set the features allow whenever OpenBLAS's own choice is narrower, and leaves a
/// choice that is as wide alone (OpenBLAS's ZEN and HASWELL are both AVX2 sets, for instance).
public enum OpenBLASCoreType {
    /// The vector width a core type's kernels use: 3 AVX-512, 2 AVX2 + FMA, 1 AVX, 0 SSE or unknown.
    public static func vectorLevel(of core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": 3
        case "haswell", "zen", "dhyana": 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": 1
        default: 0
        }
    }

    /// The widest core type `cpu`'s features run (nil below AVX: OpenBLAS's own SSE choice stands). SANDYBRIDGE is
    /// reachable only with `DARKROOM_SKIP_CPU_CHECK=1`: without AVX2 the start-up check stops the process first.
    public static func widest(for cpu: CPUInfo) -> String? {
        if cpu.hasAVX512 { return "SKYLAKEX" }
        if cpu.hasAVX2FMA { return "HASWELL" }
        if cpu.features.contains(.avx) { return "SANDYBRIDGE" }
        return nil
    }

    /// The core type to ask OpenBLAS for instead of `chosen` (what it picked by itself), or nil to keep its choice.
    public static func replacement(for cpu: CPUInfo, openBLASChose chosen: String) -> String? {
        guard let widest = widest(for: cpu), vectorLevel(of: widest) > vectorLevel(of: chosen) else { return nil }
        return widest
    }
}
