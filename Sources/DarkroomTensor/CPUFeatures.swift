import Foundation

/// What the CPU can run, read once (this file is built for the baseline target, so the check runs anywhere).
public enum CPUFeatures {
    /// True when the CPU has AVX-512 F/DQ/BW/VL and the kernel saves its registers (Linux lists the flags only then):
    /// the kernels of DarkroomTensorAVX512 may run.
    public static let hasAVX512: Bool = {
        #if arch(x86_64)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " ").map(String.init))
        return ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(set.contains)
        #else
        return false
        #endif
    }()
}
