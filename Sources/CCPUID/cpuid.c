// The cpuid and xgetbv instructions, and a constructor that stops any Darkroom process at once, with a message naming
// the missing features, on a CPU that cannot run the optimised code. This file is compiled for the baseline x86-64
// target: it must run on any x86-64 CPU, before any code built for Haswell does (constructors run before main).
#include "ccpuid.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>

int darkroom_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    uint32_t max = __get_cpuid_max(leaf & 0x80000000u, 0);
    if (max == 0 || leaf > max) return 0;
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
    return 1;
}

uint64_t darkroom_xcr0(void) {
    uint32_t r[4];
    if (!darkroom_cpuid(1, 0, r) || !(r[2] & (1u << 27))) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#else
int darkroom_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return 0;
}

uint64_t darkroom_xcr0(void) { return 0; }
#endif

static void append(char *buffer, int size, int *count, const char *name) {
    size_t used = strlen(buffer);
    if (*count > 0 && used + 2 < (size_t)size) { strcat(buffer, ", "); used += 2; }
    if (used + strlen(name) < (size_t)size) strcat(buffer, name);
    *count += 1;
}

int darkroom_missing_build_features(char *buffer, int size) {
    if (size <= 0) return 0;
    buffer[0] = 0;
    int count = 0;
#if defined(__x86_64__)
    uint32_t l1[4], l7[4], e1[4];
    darkroom_cpuid(1, 0, l1);
    darkroom_cpuid(7, 0, l7);
    darkroom_cpuid(0x80000001u, 0, e1);
    const uint32_t ecx = l1[2], ebx7 = l7[1], ecxe = e1[2];
    // What LLVM's "haswell" CPU lets the compiler emit in ordinary code.
    struct { int present; const char *name; } needed[] = {
        {(ecx >> 9) & 1, "SSSE3"}, {(ecx >> 19) & 1, "SSE4.1"}, {(ecx >> 20) & 1, "SSE4.2"}, {(ecx >> 23) & 1, "POPCNT"},
        {(ecx >> 28) & 1, "AVX"}, {(ebx7 >> 5) & 1, "AVX2"}, {(ecx >> 12) & 1, "FMA"}, {(ecx >> 29) & 1, "F16C"},
        {(ebx7 >> 3) & 1, "BMI1"}, {(ebx7 >> 8) & 1, "BMI2"}, {(ecxe >> 5) & 1, "LZCNT"}, {(ecx >> 22) & 1, "MOVBE"},
    };
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (!needed[i].present) append(buffer, size, &count, needed[i].name);
    }
    // AVX needs the OS to save the YMM registers (XCR0 bits 1 and 2).
    if ((ecx >> 28) & 1) {
        if ((darkroom_xcr0() & 0x6) != 0x6) append(buffer, size, &count, "AVX state saved by the OS (XCR0)");
    }
#endif
    return count;
}

/// Stops the process before main when the CPU cannot run this build: the alternative is SIGILL somewhere in the
/// first job. DARKROOM_SKIP_CPU_CHECK=1 lets a developer see what happens anyway.
__attribute__((constructor)) static void darkroom_check_cpu(void) {
    char missing[256];
    if (darkroom_missing_build_features(missing, sizeof missing) == 0) return;
    const char *skip = getenv("DARKROOM_SKIP_CPU_CHECK");
    if (skip && strcmp(skip, "1") == 0) return;
    fprintf(stderr,
            "darkroom: this CPU cannot run Darkroom: it lacks %s. This build needs x86-64-v3 (AVX2, FMA, F16C, BMI1/2: "
            "Intel Haswell, AMD Zen or newer). In a virtual machine, give it the host's CPU model or x86-64-v3 instead of a "
            "baseline one (x86-64-v2, kvm64, Nehalem). Nothing was run.\n", missing);
    fflush(stderr);
    _exit(78);  // EX_CONFIG: systemd's RestartPreventExitStatus can stop restarting on it
}
