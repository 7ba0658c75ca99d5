import DarkroomSupport

/// What the engine's own kernels may use on this CPU, from cpuid (`CPUInfo`, never /proc/cpuinfo).
public enum CPUFeatures {
    /// True when the CPU has AVX-512 F/DQ/BW/VL and the OS saves its registers: the kernels of DarkroomTensorAVX512
    /// may run.
    public static let hasAVX512: Bool = CPUInfo.current.hasAVX512
}
