#include "tools/bench/kernel_bench.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "tools/bench/roofline.h"

namespace kite::bench {

std::vector<KernelShape> DefaultKernelShapes() {
  return {{2048, 2048}, {5632, 2048}, {2048, 5632}, {256, 2048}};
}

std::string ParseKernelShapes(const std::string& value, std::vector<KernelShape>* shapes) {
  std::vector<KernelShape> list;
  size_t start = 0;
  while (true) {
    const size_t comma = value.find(',', start);
    const std::string item = value.substr(start, comma - start);
    const size_t x = item.find('x');
    char* end = nullptr;
    const unsigned long r = x == std::string::npos ? 0 : std::strtoul(item.c_str(), &end, 10);
    const bool rows_ok = x != std::string::npos && end == item.c_str() + x;
    const unsigned long c = rows_ok ? std::strtoul(item.c_str() + x + 1, &end, 10) : 0;
    if (!rows_ok || end != item.c_str() + item.size() || item[0] == '-' ||
        item[x + 1] == '-' || r < 1 || r > 65536 || c < 1 || c > 65536) {
      return absl::StrCat("--kernel-shapes must be ROWSxCOLS items (each 1..65536) separated by ",
                          "commas, not '", item, "'");
    }
    list.push_back({static_cast<uint32_t>(r), static_cast<uint32_t>(c)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *shapes = std::move(list);
  return "";
}

namespace {

// Calling thread CPU time in seconds: a call's own time, not its waits for a loaded CPU.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Threads that run one body together, again and again: the caller is member 0.
class Team {
 public:
  explicit Team(unsigned n) : n_(n) {
    for (unsigned i = 1; i < n; ++i) threads_.emplace_back([this, i] { Work(i); });
  }
  ~Team() {
    stop_.store(true);
    epoch_.fetch_add(1);
    for (std::thread& t : threads_) t.join();
  }
  // Runs body(i) on every member i and returns when all have finished.
  void Run(const std::function<void(unsigned)>& body) {
    body_ = &body;
    done_.store(0);
    epoch_.fetch_add(1, std::memory_order_release);
    body(0);
    while (done_.load(std::memory_order_acquire) + 1 < n_) std::this_thread::yield();
  }

 private:
  void Work(unsigned i) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t e;
      while ((e = epoch_.load(std::memory_order_acquire)) == seen) std::this_thread::yield();
      seen = e;
      if (stop_.load()) return;
      (*body_)(i);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
  const unsigned n_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<unsigned> done_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(unsigned)>* body_ = nullptr;
};

const char* LayoutName(KernelLayout layout) {
  switch (layout) {
    case KernelLayout::kQ4: return "q4 (Q4_R16_G32, qd8_q4r16_gemm)";
    case KernelLayout::kQ4Sym: return "q4sym (Q4_R16_G32_SYM, qd8_q4r16sym_gemm)";
    case KernelLayout::kQ4Cb: return "q4cb (Q4_R16_G32_CB, qd8_q4r16cb_gemm)";
    case KernelLayout::kQ3: return "q3 (Q3_R16_G32, qd8_q3r16_gemm)";
    case KernelLayout::kQ4Sp24: return "q4sp24 (Q4_SP24_R16_G64, qd8_q4sp24_gemm)";
  }
  return "?";
}

// Bytes of one 16-row block row of a matrix with `cols` columns in `layout`, from the
// format's table.
size_t RowBlockBytes(KernelLayout layout, size_t cols) {
  switch (layout) {
    case KernelLayout::kQ4:
      return PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, kQ4R16BlockRows, cols, 32);
    case KernelLayout::kQ4Sym:
      return PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_SYM, kQ4R16BlockRows, cols, 32);
    case KernelLayout::kQ4Cb:
      return PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_CB, kQ4R16BlockRows, cols, 32);
    case KernelLayout::kQ3:
      return PackedBytes(DType::Q4_G, Layout::Q3_R16_G32, kQ4R16BlockRows, cols, 32);
    case KernelLayout::kQ4Sp24:
      return PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, kQ4R16BlockRows, cols,
                         kQ4SP24BlockCols);
  }
  return 0;
}

// Packs one rows x cols matrix of random codes (scales about 2^-7) in `layout` into out.
void PackRandom(KernelLayout layout, size_t rows, size_t cols, uint8_t* out) {
  std::mt19937 rng(7);
  const size_t groups = (cols + 31) / 32;
  const size_t padded = groups * 32;
  std::vector<uint8_t> u(rows * padded);
  std::vector<uint16_t> d(rows * groups), o(rows * groups);
  for (uint8_t& v : u) v = static_cast<uint8_t>(rng() & (layout == KernelLayout::kQ3 ? 7 : 15));
  for (uint16_t& v : d) v = static_cast<uint16_t>(0x2000 + rng() % 0x400);
  for (uint16_t& v : o) v = static_cast<uint16_t>(0xA000 + rng() % 0x400);
  switch (layout) {
    case KernelLayout::kQ4: kernels::PackQ4R16(rows, cols, u.data(), d.data(), o.data(), out); return;
    case KernelLayout::kQ4Sym:
    case KernelLayout::kQ4Cb: kernels::PackQ4R16Sym(rows, cols, u.data(), d.data(), out); return;
    case KernelLayout::kQ3:
      kernels::PackQ3R16(rows, cols, kQ4R16GroupSize, u.data(), d.data(), out);
      return;
    case KernelLayout::kQ4Sp24: {
      // Two kept values in every quad of 4 columns, at random positions.
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> w(rows * cols, 0.0f);
      for (size_t i = 0; i + 4 <= w.size(); i += 4) {
        const size_t a = rng() % 4, b = (a + 1 + rng() % 3) % 4;
        w[i + a] = dist(rng);
        w[i + b] = dist(rng);
      }
      kernels::PackQ4SP24(rows, cols, w.data(), out);
      return;
    }
  }
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Kernel and read rates (GB/s) of alternated calls, and their per-pair ratios.
struct Rates {
  std::vector<double> kernel, read, ratio;
};

}  // namespace

int RunKernelBench(const KernelBenchOptions& options) {
  const kernels::KernelTable& k = kernels::SelectKernels(kernels::MaxIsaFromEnvironment());
  std::string read_isa;
  const ReadSumFn read_sum = BestReadSum(&read_isa);
  const std::vector<KernelShape> shapes =
      options.shapes.empty() ? DefaultKernelShapes() : options.shapes;
  double load[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("kernel alone, m = 1: %s, ISA %s; read loop %s\n", LayoutName(options.layout),
              kernels::IsaName(k.isa), read_isa.c_str());
  std::printf("pool %.0f MiB of copies per shape%s, %u passes; load average %.2f %.2f %.2f\n",
              static_cast<double>(options.pool_bytes) / (1 << 20),
              options.huge_pages ? " (huge pages asked)" : "", options.passes, load[0], load[1],
              load[2]);
  std::printf("%-11s %3s %6s | %8s %8s %6s %6s | %8s %8s %6s\n", "shape", "thr", "copies",
              "kernel", "read", "frac", "range", "kernel", "read", "frac");
  std::printf("%-11s %3s %6s | %-30s | %-26s\n", "", "", "", "  from DRAM (GB/s, medians)",
              "  one copy (in cache if fits)");

  // The activation vector and codebook, shared by every call.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  int8_t codebook[kQ4CodebookEntries];
  for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
    codebook[i] = static_cast<int8_t>(static_cast<int>(i) * 16 - 120);
  }

  for (const KernelShape& shape : shapes) {
    const size_t rows = shape.rows, cols = shape.cols;
    const size_t groups = (cols + 31) / 32;
    const size_t row_block = RowBlockBytes(options.layout, cols);
    const size_t blocks = (rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
    const size_t matrix_bytes = blocks * row_block;
    const size_t stride = (matrix_bytes + 4095) / 4096 * 4096;
    const size_t copies = std::max<size_t>(2, options.pool_bytes / stride);
    auto* pool = static_cast<uint8_t*>(std::aligned_alloc(4096, copies * stride));
    if (pool == nullptr) {
      std::fprintf(stderr, "kite-bench: cannot allocate %zu MiB for the kernel pool\n",
                   copies * stride >> 20);
      return 1;
    }
    if (options.huge_pages) madvise(pool, copies * stride, MADV_HUGEPAGE);
    PackRandom(options.layout, rows, cols, pool);
    for (size_t c = 1; c < copies; ++c) std::memcpy(pool + c * stride, pool, matrix_bytes);

    std::vector<float> x(groups * 32, 0.0f);
    for (size_t i = 0; i < cols; ++i) x[i] = dist(rng);
    std::vector<int8_t> xq(groups * 32);
    std::vector<float> xscale(groups);
    std::vector<int32_t> xsum(groups);
    kernels::q8_quantize_ref(groups * 32, 32, x.data(), xq.data(), xscale.data(), xsum.data());
    std::vector<float> y(blocks * kQ4R16BlockRows);

    for (uint32_t threads : options.threads) {
      const unsigned n = static_cast<unsigned>(std::min<size_t>(threads, blocks));
      Team team(n);
      std::vector<double> seconds(n);
      // Member i's block rows [b0, b1): the runtime's split of a Linear's rows.
      auto range = [&](unsigned i, size_t* b0, size_t* b1) {
        *b0 = blocks * i / n;
        *b1 = blocks * (i + 1) / n;
      };
      auto kernel_call = [&](const uint8_t* w) {
        team.Run([&](unsigned i) {
          size_t b0, b1;
          range(i, &b0, &b1);
          const size_t r0 = b0 * kQ4R16BlockRows;
          const size_t nr = std::min(rows, b1 * kQ4R16BlockRows) - r0;
          const uint8_t* wb = w + b0 * row_block;
          const double t0 = ThreadSeconds();
          if (nr > 0) {
            switch (options.layout) {
              case KernelLayout::kQ4:
                k.qd8_q4r16_gemm(1, nr, groups, wb, xq.data(), xscale.data(), xsum.data(),
                                 y.data() + r0, nr);
                break;
              case KernelLayout::kQ4Sym:
                k.qd8_q4r16sym_gemm(1, nr, groups, wb, xq.data(), xscale.data(), xsum.data(),
                                    y.data() + r0, nr);
                break;
              case KernelLayout::kQ4Cb:
                k.qd8_q4r16cb_gemm(1, nr, groups, wb, codebook, xq.data(), xscale.data(),
                                   xsum.data(), y.data() + r0, nr);
                break;
              case KernelLayout::kQ3:
                k.qd8_q3r16_gemm(1, nr, groups, /*groups_per_scale=*/1, wb, xq.data(),
                                 xscale.data(), xsum.data(), y.data() + r0, nr);
                break;
              case KernelLayout::kQ4Sp24:
                k.qd8_q4sp24_gemm(1, nr, groups, wb, xq.data(), xscale.data(), y.data() + r0,
                                  nr);
                break;
            }
          }
          seconds[i] = ThreadSeconds() - t0;
        });
        return *std::max_element(seconds.begin(), seconds.end());
      };
      std::atomic<uint64_t> sink{0};
      auto read_call = [&](const uint8_t* w) {
        team.Run([&](unsigned i) {
          size_t b0, b1;
          range(i, &b0, &b1);
          // The same bytes, widened to whole 64-byte lines.
          const size_t begin = b0 * row_block / 64 * 64;
          const size_t end = (b1 * row_block + 63) / 64 * 64;
          const double t0 = ThreadSeconds();
          sink.fetch_add(read_sum(reinterpret_cast<const uint64_t*>(w + begin), (end - begin) / 8),
                         std::memory_order_relaxed);
          seconds[i] = ThreadSeconds() - t0;
        });
        return *std::max_element(seconds.begin(), seconds.end());
      };
      auto pair = [&](Rates* r, const uint8_t* wk, const uint8_t* wr) {
        const double tk = kernel_call(wk);
        const double tr = read_call(wr);
        if (tk <= 0 || tr <= 0) return;
        const double gk = static_cast<double>(matrix_bytes) / tk / 1e9;
        const double gr = static_cast<double>(matrix_bytes) / tr / 1e9;
        r->kernel.push_back(gk);
        r->read.push_back(gr);
        r->ratio.push_back(gk / gr);
      };
      // From DRAM: the kernel on copy c, the read loop on the copy half the pool away, so
      // every copy is evicted before it is read again.
      Rates cold, warm;
      pair(&warm, pool, pool + copies / 2 * stride);  // first touch of the pages aside
      warm = Rates();
      for (uint32_t p = 0; p < options.passes; ++p) {
        for (size_t c = 0; c < copies; ++c) {
          pair(&cold, pool + c * stride, pool + (c + copies / 2) % copies * stride);
        }
      }
      // One copy, again and again.
      const size_t warm_calls = std::min<size_t>(copies, 200) * options.passes;
      pair(&warm, pool, pool);
      warm = Rates();
      for (size_t c = 0; c < warm_calls; ++c) pair(&warm, pool, pool);

      std::vector<double> sorted = cold.ratio;
      std::sort(sorted.begin(), sorted.end());
      const double lo = sorted.empty() ? 0 : sorted[sorted.size() / 10];
      const double hi = sorted.empty() ? 0 : sorted[sorted.size() * 9 / 10];
      const std::string name = absl::StrCat(rows, "x", cols);
      std::printf("%-11s %3u %6zu | %8.1f %8.1f %5.0f%% %2.0f-%2.0f%% | %8.1f %8.1f %5.0f%%\n",
                  name.c_str(), n, copies, Median(cold.kernel), Median(cold.read),
                  100 * Median(cold.ratio), 100 * lo, 100 * hi, Median(warm.kernel),
                  Median(warm.read), 100 * Median(warm.ratio));
      std::fflush(stdout);
    }
    std::free(pool);
  }
  return 0;
}

}  // namespace kite::bench
