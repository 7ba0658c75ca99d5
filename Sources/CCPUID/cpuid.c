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

#define BIT(word, n) (((word) >> (n)) & 1u)

uint64_t darkroom_cpu_features(void) {
    uint64_t f = 0;
#if defined(__x86_64__)
    uint32_t l1[4], l7[4], l71[4], e1[4];
    darkroom_cpuid(1, 0, l1);
    darkroom_cpuid(7, 0, l7);
    darkroom_cpuid(7, 1, l71);
    if (l7[0] < 1) l71[0] = l71[1] = l71[2] = l71[3] = 0;   // subleaf 1 exists only where subleaf 0's EAX says so
    darkroom_cpuid(0x80000001u, 0, e1);
    const uint32_t ecx = l1[2], ebx7 = l7[1], ecx7 = l7[2], edx7 = l7[3], eax71 = l71[0], ecxe = e1[2];
    const uint64_t xcr0 = darkroom_xcr0();
    const int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xE6) == 0xE6, tiles = (xcr0 & 0x60000) == 0x60000;
    struct { int present; enum darkroom_cpu_feature feature; } table[] = {
        {BIT(ecx, 0), DARKROOM_SSE3}, {BIT(ecx, 9), DARKROOM_SSSE3}, {BIT(ecx, 19), DARKROOM_SSE41},
        {BIT(ecx, 20), DARKROOM_SSE42}, {BIT(ecx, 23), DARKROOM_POPCNT}, {BIT(ecx, 22), DARKROOM_MOVBE},
        {BIT(ecxe, 5), DARKROOM_LZCNT}, {BIT(ebx7, 3), DARKROOM_BMI1}, {BIT(ebx7, 8), DARKROOM_BMI2},
        {BIT(ecx, 28) && ymm, DARKROOM_AVX}, {BIT(ebx7, 5) && ymm, DARKROOM_AVX2}, {BIT(ecx, 12) && ymm, DARKROOM_FMA},
        {BIT(ecx, 29) && ymm, DARKROOM_F16C},
        {BIT(ebx7, 16) && zmm, DARKROOM_AVX512F}, {BIT(ebx7, 17) && zmm, DARKROOM_AVX512DQ},
        {BIT(ebx7, 30) && zmm, DARKROOM_AVX512BW}, {BIT(ebx7, 31) && zmm, DARKROOM_AVX512VL},
        {BIT(ecx7, 11) && zmm, DARKROOM_AVX512VNNI}, {BIT(eax71, 5) && zmm, DARKROOM_AVX512BF16},
        {BIT(edx7, 23) && zmm, DARKROOM_AVX512FP16}, {BIT(edx7, 24) && tiles, DARKROOM_AMX_TILE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].present) f |= (uint64_t)1 << table[i].feature;
    }
#endif
    return f;
}

int darkroom_missing_build_features(char *buffer, int size) {
    if (size <= 0) return 0;
    buffer[0] = 0;
    int count = 0;
#if defined(__x86_64__)
    const uint64_t f = darkroom_cpu_features();
    // What LLVM's "haswell" CPU lets the compiler emit in ordinary code (AVX and its relatives count only where the
    // OS saves the YMM registers).
    struct { enum darkroom_cpu_feature feature; const char *name; } needed[] = {
        {DARKROOM_SSSE3, "SSSE3"}, {DARKROOM_SSE41, "SSE4.1"}, {DARKROOM_SSE42, "SSE4.2"}, {DARKROOM_POPCNT, "POPCNT"},
        {DARKROOM_AVX, "AVX"}, {DARKROOM_AVX2, "AVX2"}, {DARKROOM_FMA, "FMA"}, {DARKROOM_F16C, "F16C"},
        {DARKROOM_BMI1, "BMI1"}, {DARKROOM_BMI2, "BMI2"}, {DARKROOM_LZCNT, "LZCNT"}, {DARKROOM_MOVBE, "MOVBE"},
    };
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (!((f >> needed[i].feature) & 1)) append(buffer, size, &count, needed[i].name);
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
