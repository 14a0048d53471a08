// What the processor we run on can execute, detected once. Kernel dispatch reads this;
// nothing on the hot path does.
#pragma once

namespace kite {

/// Instruction-set extensions usable by this process: the CPU implements them *and* the
/// operating system saves their register state (checked with XGETBV on x86). Fields of the
/// other architecture are always false.
struct CpuFeatures {
  // x86-64.
  bool avx2 = false;         ///< AVX2 (256-bit integer SIMD).
  bool fma = false;          ///< FMA3.
  bool f16c = false;         ///< vcvtph2ps / vcvtps2ph.
  bool avx_vnni = false;     ///< AVX-VNNI: VEX-encoded vpdpbusd on 128/256-bit registers.
  bool avx512f = false;      ///< AVX-512 Foundation (and the OS saves ZMM/opmask state).
  bool avx512bw = false;     ///< AVX-512 byte/word instructions.
  bool avx512dq = false;     ///< AVX-512 doubleword/quadword instructions.
  bool avx512vl = false;     ///< AVX-512 on 128/256-bit registers.
  bool avx512_vnni = false;  ///< AVX-512 VNNI: EVEX vpdpbusd.
  // Arm (Linux/Android: from getauxval hardware capabilities).
  bool neon = false;     ///< Advanced SIMD (aarch64 ASIMD; on 32-bit Arm NEON + VFPv4).
  bool dotprod = false;  ///< sdot/udot (aarch64 only; implies neon).
  bool i8mm = false;     ///< smmla/ummla (aarch64 only; implies neon).
};

/// The features of this CPU. Detected on the first call (cpuid/xgetbv on x86, getauxval on
/// Arm Linux; all false on other targets), then cached. Thread-safe; the reference stays valid for the
/// program's lifetime. Performs no allocation.
const CpuFeatures& GetCpuFeatures();

}  // namespace kite
