// CPU feature detection on Arm Linux (and Android) from the kernel's hardware capability
// bits (getauxval). Reading the ID registers directly would fault in user mode on older
// kernels; the hwcaps also tell that the kernel supports the feature.
#include "platform/cpu_features.h"

#include <sys/auxv.h>

#if defined(__arm__)
#include <asm/hwcap.h>
#endif

namespace kite {
namespace {

// Bit values of the Linux ABI (arch/arm64/include/uapi/asm/hwcap.h and
// arch/arm/include/uapi/asm/hwcap.h), in case the libc headers predate them.
#if defined(__aarch64__)
constexpr unsigned long kHwcapAsimd = 1ul << 1;     // HWCAP_ASIMD
constexpr unsigned long kHwcapAsimdDp = 1ul << 20;  // HWCAP_ASIMDDP
constexpr unsigned long kHwcap2I8mm = 1ul << 13;    // HWCAP2_I8MM
#elif defined(__arm__)
constexpr unsigned long kHwcapNeon = 1ul << 12;   // HWCAP_NEON
constexpr unsigned long kHwcapVfpv4 = 1ul << 16;  // HWCAP_VFPv4 (brings the f16 conversions)
#endif

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  f.neon = (hwcap & kHwcapAsimd) != 0;
  f.dotprod = f.neon && (hwcap & kHwcapAsimdDp) != 0;
  f.i8mm = f.neon && (hwcap2 & kHwcap2I8mm) != 0;
#elif defined(__arm__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  // The 32-bit NEON kernels convert f16 scales with vcvt.f32.f16, which needs VFPv4 too
  // (every Cortex-A7 and later has both).
  f.neon = (hwcap & kHwcapNeon) != 0 && (hwcap & kHwcapVfpv4) != 0;
#endif
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace kite
