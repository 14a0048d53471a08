// kite-bench --kernel: one weight layout's m = 1 matrix-vector product (the decode kernel)
// alone, streaming its weights from DRAM, against a plain read loop over the same bytes.
// Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kite::bench {

/// The weight layouts --kernel measures (their qd8 GEMM family, at m = 1).
enum class KernelLayout {
  kQ4,      ///< Q4_R16_G32 (4-bit with offsets): qd8_q4r16_gemm
  kQ4Sym,   ///< Q4_R16_G32_SYM (offset-free 4-bit): qd8_q4r16sym_gemm
  kQ4Cb,    ///< Q4_R16_G32_CB (4-bit codebook): qd8_q4r16cb_gemm
  kQ3,      ///< Q3_R16_G32 (3-bit): qd8_q3r16_gemm
  kQ4Sp24,  ///< Q4_SP24_R16_G64 (2:4 sparse 4-bit): qd8_q4sp24_gemm
};

/// One matrix shape: rows (output features) x cols (input width).
struct KernelShape {
  uint32_t rows = 0;
  uint32_t cols = 0;
};

/// The shapes --kernel runs by default: tinyllama-1.1b's q/o (2048 x 2048), gate/up
/// (5632 x 2048), down (2048 x 5632) and k/v (256 x 2048).
std::vector<KernelShape> DefaultKernelShapes();

/// Parses "RxC,RxC,..." (each 1..65536) into *shapes; returns "" or an error naming the
/// bad item.
std::string ParseKernelShapes(const std::string& value, std::vector<KernelShape>* shapes);

/// What RunKernelBench measures.
struct KernelBenchOptions {
  KernelLayout layout = KernelLayout::kQ4Sym;
  std::vector<KernelShape> shapes;   ///< empty: DefaultKernelShapes()
  std::vector<uint32_t> threads;     ///< thread counts, each >= 1
  uint64_t pool_bytes = 1ull << 30;  ///< the copies of each matrix fill about this much
  uint32_t passes = 5;               ///< passes over the copies per shape and thread count
  /// Ask for transparent huge pages for the copies (madvise MADV_HUGEPAGE), so the stream
  /// crosses 2 MiB pages instead of 4 KiB ones.
  bool huge_pages = false;
};

/// Runs the measurement with the kernels the dispatcher picks (KITE_ISA caps the ISA) and
/// prints a table on stdout (the help text of kite-bench describes it). Returns 0, or 1
/// when the pool cannot be allocated (with a message on stderr).
int RunKernelBench(const KernelBenchOptions& options);

}  // namespace kite::bench
