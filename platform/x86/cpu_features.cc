// CPU feature detection on x86/x86-64 with CPUID and XGETBV.
#include "platform/cpu_features.h"

#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif

namespace kite {
namespace {

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs Cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
#if defined(_MSC_VER) && !defined(__clang__)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  r.eax = static_cast<uint32_t>(regs[0]);
  r.ebx = static_cast<uint32_t>(regs[1]);
  r.ecx = static_cast<uint32_t>(regs[2]);
  r.edx = static_cast<uint32_t>(regs[3]);
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

// XCR0: which register states the OS saves on context switch. Only valid when
// CPUID.1:ECX.OSXSAVE is set.
uint64_t Xgetbv0() {
#if defined(_MSC_VER) && !defined(__clang__)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}

bool Bit(uint32_t reg, int bit) { return ((reg >> bit) & 1u) != 0; }

CpuFeatures Detect() {
  CpuFeatures f;
  const uint32_t max_leaf = Cpuid(0, 0).eax;
  if (max_leaf < 1) return f;
  const CpuidRegs l1 = Cpuid(1, 0);
  const bool osxsave = Bit(l1.ecx, 27);
  const bool avx = Bit(l1.ecx, 28);
  const uint64_t xcr0 = osxsave ? Xgetbv0() : 0;
  // XMM (bit 1) and YMM (bit 2) state for AVX; plus opmask (5), ZMM_Hi256 (6) and
  // Hi16_ZMM (7) for AVX-512.
  const bool os_ymm = (xcr0 & 0x6u) == 0x6u;
  const bool os_zmm = (xcr0 & 0xE6u) == 0xE6u;
  if (!avx || !os_ymm) return f;
  f.fma = Bit(l1.ecx, 12);
  f.f16c = Bit(l1.ecx, 29);
  if (max_leaf < 7) return f;
  const CpuidRegs l7 = Cpuid(7, 0);
  f.avx2 = Bit(l7.ebx, 5);
  if (l7.eax >= 1) f.avx_vnni = Bit(Cpuid(7, 1).eax, 4);
  if (os_zmm) {
    f.avx512f = Bit(l7.ebx, 16);
    f.avx512bw = f.avx512f && Bit(l7.ebx, 30);
    f.avx512dq = f.avx512f && Bit(l7.ebx, 17);
    f.avx512vl = f.avx512f && Bit(l7.ebx, 31);
    f.avx512_vnni = f.avx512f && Bit(l7.ecx, 11);
  }
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace kite
