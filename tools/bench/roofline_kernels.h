// The inner loops of the roofline measurements, one file per ISA (each compiled with its
// own -m flags and called only when the CPU has that ISA). Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::bench {

/// Sums `n` 64-bit words at `p` (64-byte aligned) with plain 64-bit adds: the result only
/// keeps the loads from being optimized away. Portable C++ (whatever the compiler emits).
uint64_t ReadSumPortable(const uint64_t* p, size_t n);

/// Int8 multiply-adds done by one call of a dot loop: `iterations` times this many.
inline constexpr uint64_t kVnniMacsPerIteration = 16 * 64;  // 16 vpdpbusd on zmm
inline constexpr uint64_t kAvx2MacsPerIteration = 12 * 32;  // 12 vpmaddubsw chains on ymm

#if defined(__x86_64__) || defined(_M_X64)
/// ReadSumPortable with AVX-512 loads (4 zmm accumulators). Needs AVX512F.
uint64_t ReadSumAvx512(const uint64_t* p, size_t n);
/// ReadSumPortable with AVX2 loads (4 ymm accumulators). Needs AVX2.
uint64_t ReadSumAvx2(const uint64_t* p, size_t n);

/// Runs `iterations` x 16 independent vpdpbusd (u8 x s8 -> s32, 64 multiply-adds each) on
/// register-resident operands derived from `seed`; returns a value that depends on all of
/// them. Needs AVX512F, AVX512BW and AVX512-VNNI.
uint64_t DotLoopAvx512Vnni(uint64_t iterations, int32_t seed);
/// Runs `iterations` x 12 independent vpmaddubsw + vpmaddwd(1) + vpaddd chains on ymm
/// registers (32 u8 x s8 multiply-adds each, the AVX2 int8 dot product). Needs AVX2.
uint64_t DotLoopAvx2(uint64_t iterations, int32_t seed);
#endif

}  // namespace kite::bench
