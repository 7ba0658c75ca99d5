// CCPUID: the x86 cpuid and xgetbv instructions, and the start-up check that this build's instruction set is there.
#ifndef DARKROOM_CCPUID_H
#define DARKROOM_CCPUID_H
#include <stdint.h>

/// Runs cpuid for `leaf`/`subleaf` into regs (eax, ebx, ecx, edx); returns 0 where the CPU has no such leaf (all
/// registers 0) or the machine is not x86-64.
int darkroom_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/// XCR0, the register states the kernel saves (bit 1 SSE, 2 AVX, 5–7 AVX-512); 0 where the OS does not enable
/// xgetbv (cpuid leaf 1 ecx bit 27, OSXSAVE, clear) or the machine is not x86-64.
uint64_t darkroom_xcr0(void);

/// Instruction-set features, as bits of `darkroom_cpu_features()`: each set only where the CPU has it and, for the
/// AVX and AVX-512 families, the OS saves the registers it needs (XCR0).
enum darkroom_cpu_feature {
    DARKROOM_SSE3, DARKROOM_SSSE3, DARKROOM_SSE41, DARKROOM_SSE42, DARKROOM_POPCNT, DARKROOM_MOVBE, DARKROOM_LZCNT,
    DARKROOM_BMI1, DARKROOM_BMI2, DARKROOM_AVX, DARKROOM_AVX2, DARKROOM_FMA, DARKROOM_F16C,
    DARKROOM_AVX512F, DARKROOM_AVX512DQ, DARKROOM_AVX512BW, DARKROOM_AVX512VL, DARKROOM_AVX512VNNI, DARKROOM_AVX512BF16,
    DARKROOM_AVX512FP16, DARKROOM_AMX_TILE,
};

/// The features of this CPU, bit `darkroom_cpu_feature` each: the one place cpuid's bits are decoded.
uint64_t darkroom_cpu_features(void);

/// The instruction-set features this build's optimised code is compiled for (`-target-cpu haswell`: x86-64-v3)
/// that the CPU or the OS lacks, comma-separated into `buffer` ("" when all are there). Returns the count.
int darkroom_missing_build_features(char *buffer, int size);

#endif
