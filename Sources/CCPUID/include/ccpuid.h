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

/// The instruction-set features this build's optimised code is compiled for (`-target-cpu haswell`: x86-64-v3)
/// that the CPU or the OS lacks, comma-separated into `buffer` ("" when all are there). Returns the count.
int darkroom_missing_build_features(char *buffer, int size);

#endif
