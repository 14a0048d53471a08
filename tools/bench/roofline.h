// This machine's roofs: memory read bandwidth and int8 dot-product peak, measured with a
// given number of threads. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kite::bench {

/// Result of MeasureReadBandwidth.
struct Bandwidth {
  double gb_per_s = 0;        ///< best run, 1e9 bytes per second
  uint64_t buffer_bytes = 0;  ///< bytes read per run
  unsigned threads = 0;
  unsigned runs = 0;
  std::string isa;            ///< "avx512", "avx2" or "portable": the loads used
  uint64_t huge_bytes = 0;    ///< of buffer_bytes, how many the kernel backed with 2 MiB pages
};

/// Result of MeasureInt8Peak.
struct Int8Peak {
  double gops = 0;   ///< best run, 1e9 int8 ops per second (one multiply-add = 2 ops); 0 if not measured
  unsigned threads = 0;
  unsigned runs = 0;
  std::string isa;   ///< "avx512-vnni", "avx2", or "none" when no int8 dot loop fits this CPU
};

/// A streaming read loop: sums `n` 64-bit words at `p` (64-byte aligned).
using ReadSumFn = uint64_t (*)(const uint64_t* p, size_t n);

/// The read loop of MeasureReadBandwidth on this CPU (the widest loads it has); stores its
/// name ("avx512", "avx2" or "portable") in *isa when not null.
ReadSumFn BestReadSum(std::string* isa);

/// Allocates and fills a `bytes` buffer (rounded up to 2 MiB), then `runs` times lets
/// `threads` threads sum equal slices of it at once; returns the best rate. Frees the buffer.
/// The buffer asks for transparent huge pages (MADV_HUGEPAGE), as a mapped model gets 2 MiB
/// pages: with 4 KiB pages the page walks cost the read loop up to ~40% on some machines,
/// which would make the decode roof too low. `huge_bytes` says how much the kernel granted.
Bandwidth MeasureReadBandwidth(unsigned threads, uint64_t bytes, unsigned runs);

/// `runs` times lets `threads` threads run a register-resident int8 dot loop for about
/// 0.2 s each and returns the best aggregate rate. Uses AVX512-VNNI vpdpbusd when the CPU
/// has it, else the AVX2 vpmaddubsw sequence, else measures nothing (gops 0, isa "none").
Int8Peak MeasureInt8Peak(unsigned threads, unsigned runs);

}  // namespace kite::bench
