// kite-soak: generates many tokens through the C API, as a long-running app would
// (sessions created and destroyed, contexts filled and reset, sampled generation), and
// watches the process's resident memory (RSS, /proc/self/statm) for growth.
//
// Usage: kite-soak MODEL.kite [--tokens N] [--context N] [--resets-per-session N]
//                  [--samples N] [--warmup-fraction F] [--max-growth-kib N]
//                  [--leak-kib-per-session N]
//   --tokens N                 tokens to generate in all (default 1000000)
//   --context N                max_context of every session (default 256)
//   --resets-per-session N     context resets before a session is destroyed and a new one
//                              created (default 8)
//   --samples N                RSS samples, evenly spaced over the run (default 20)
//   --warmup-fraction F        share of the run before the RSS baseline is taken (0.1)
//   --max-growth-kib N         allowed RSS growth after the warm-up, KiB (default 1024)
//   --leak-kib-per-session N   leaks N KiB (touched) per session: a deliberate leak that
//                              the growth check must flag (its own test)
// Prints the RSS curve as a table (tokens, resident KiB, seconds), then one verdict line.
// Exit status: 0 when RSS stayed within the bound after the warm-up, 1 when it grew more,
// 2 for a usage or generation error.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"

namespace {

struct Options {
  const char* model = nullptr;
  uint64_t tokens = 1000000;
  uint32_t context = 256;
  uint32_t resets_per_session = 8;
  uint32_t samples = 20;
  double warmup_fraction = 0.1;
  uint64_t max_growth_kib = 1024;
  uint64_t leak_kib_per_session = 0;
};

int Usage(const char* message) {
  std::fprintf(stderr,
               "kite-soak: %s\nusage: kite-soak MODEL.kite [--tokens N] [--context N] "
               "[--resets-per-session N] [--samples N] [--warmup-fraction F] "
               "[--max-growth-kib N] [--leak-kib-per-session N]\n",
               message);
  return 2;
}

bool ParseArgs(int argc, char** argv, Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      if (o->model != nullptr) {
        *error = "more than one model given ('" + arg + "')";
        return false;
      }
      o->model = argv[i];
      continue;
    }
    if (i + 1 >= argc) {
      *error = "option '" + arg + "' needs a value";
      return false;
    }
    const char* value = argv[++i];
    char* end = nullptr;
    const double number = std::strtod(value, &end);
    if (end == value || *end != '\0' || number < 0) {
      *error = "option '" + arg + "' needs a non-negative number, not '" + value + "'";
      return false;
    }
    if (arg == "--tokens") {
      o->tokens = static_cast<uint64_t>(number);
    } else if (arg == "--context") {
      o->context = static_cast<uint32_t>(number);
    } else if (arg == "--resets-per-session") {
      o->resets_per_session = static_cast<uint32_t>(number);
    } else if (arg == "--samples") {
      o->samples = static_cast<uint32_t>(number);
    } else if (arg == "--warmup-fraction") {
      o->warmup_fraction = number;
    } else if (arg == "--max-growth-kib") {
      o->max_growth_kib = static_cast<uint64_t>(number);
    } else if (arg == "--leak-kib-per-session") {
      o->leak_kib_per_session = static_cast<uint64_t>(number);
    } else {
      *error = "unknown option '" + arg + "'";
      return false;
    }
  }
  if (o->model == nullptr) *error = "no model given";
  if (o->samples < 2) *error = "--samples must be at least 2";
  if (o->warmup_fraction >= 1) *error = "--warmup-fraction must be below 1";
  return error->empty();
}

// Resident set size in KiB (second field of /proc/self/statm, in pages).
uint64_t ResidentKib() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

struct Sample {
  uint64_t tokens;
  uint64_t rss_kib;
  double seconds;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::string error;
  if (!ParseArgs(argc, argv, &opt, &error)) return Usage(error.c_str());

  kite_model* model = nullptr;
  if (kite_model_open_file(opt.model, nullptr, &model) != KITE_OK) {
    std::fprintf(stderr, "kite-soak: %s\n", kite_last_error());
    return 2;
  }
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = opt.context;

  kite_generate_options go;
  kite_generate_options_init(&go);
  go.temperature = 0.9f;
  go.top_p = 0.95f;

  const auto start = std::chrono::steady_clock::now();
  std::vector<Sample> curve;
  const uint64_t step = opt.tokens / (opt.samples - 1) > 0 ? opt.tokens / (opt.samples - 1) : 1;
  uint64_t next_sample = 0;
  uint64_t generated = 0, sessions = 0, resets = 0;
  std::vector<void*> leaked;

  auto sample_if_due = [&] {
    while (generated >= next_sample && curve.size() < opt.samples) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      curve.push_back({generated, ResidentKib(), s});
      next_sample += step;
    }
  };

  sample_if_due();
  while (generated < opt.tokens) {
    kite_session* session = nullptr;
    if (kite_session_create(model, &so, nullptr, 0, &session) != KITE_OK) {
      std::fprintf(stderr, "kite-soak: %s\n", kite_last_error());
      return 2;
    }
    ++sessions;
    if (opt.leak_kib_per_session > 0) {
      void* p = std::malloc(opt.leak_kib_per_session * 1024);
      if (p != nullptr) std::memset(p, 0x5A, opt.leak_kib_per_session * 1024);
      leaked.push_back(p);
    }
    for (uint32_t r = 0; r <= opt.resets_per_session && generated < opt.tokens; ++r) {
      // Fill the context: generate until it is full or the model ends the story, then
      // continue with an empty prompt until it is full.
      const char* prompt = "Once upon a time";
      while (generated < opt.tokens) {
        const uint32_t room = opt.context - kite_session_position(session);
        if (room < 2) break;
        const uint64_t left = opt.tokens - generated;
        go.max_tokens = static_cast<int32_t>(left < room - 1 ? left : room - 1);
        go.seed = generated;
        kite_generate_stats stats;
        stats.struct_size = sizeof(stats);
        const kite_status st = kite_generate(session, prompt, &go, nullptr, nullptr, &stats);
        if (st == KITE_ERR_CONTEXT_FULL) break;
        if (st != KITE_OK) {
          std::fprintf(stderr, "kite-soak: %s\n", kite_session_last_error(session));
          return 2;
        }
        prompt = "";
        generated += stats.generated_tokens;
        sample_if_due();
        if (stats.stop_reason == KITE_STOP_CONTEXT_FULL) break;
        if (stats.generated_tokens == 0) break;  // an end token right away
      }
      if (kite_session_reset(session) != KITE_OK) {
        std::fprintf(stderr, "kite-soak: %s\n", kite_session_last_error(session));
        return 2;
      }
      ++resets;
    }
    kite_session_destroy(session);
  }
  sample_if_due();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kite_model_close(model);

  std::printf("%12s %12s %10s\n", "tokens", "rss_kib", "seconds");
  for (const Sample& s : curve) {
    std::printf("%12llu %12llu %10.1f\n", static_cast<unsigned long long>(s.tokens),
                static_cast<unsigned long long>(s.rss_kib), s.seconds);
  }
  // Baseline: the first sample at or after the warm-up; growth: the highest sample after it.
  const uint64_t warmup_tokens = static_cast<uint64_t>(opt.warmup_fraction * opt.tokens);
  size_t base = 0;
  while (base + 1 < curve.size() && curve[base].tokens < warmup_tokens) ++base;
  uint64_t peak = curve[base].rss_kib;
  for (size_t i = base; i < curve.size(); ++i) peak = curve[i].rss_kib > peak ? curve[i].rss_kib : peak;
  const uint64_t growth = peak - curve[base].rss_kib;
  std::printf("kite-soak: %llu tokens, %llu sessions, %llu resets, %.1f s (%.0f tokens/s); "
              "RSS %llu KiB after warm-up (%llu tokens), peak %llu KiB, growth %llu KiB "
              "(bound %llu KiB)\n",
              static_cast<unsigned long long>(generated), static_cast<unsigned long long>(sessions),
              static_cast<unsigned long long>(resets), seconds, generated / seconds,
              static_cast<unsigned long long>(curve[base].rss_kib),
              static_cast<unsigned long long>(curve[base].tokens),
              static_cast<unsigned long long>(peak), static_cast<unsigned long long>(growth),
              static_cast<unsigned long long>(opt.max_growth_kib));
  for (void* p : leaked) std::free(p);
  if (growth > opt.max_growth_kib) {
    std::printf("kite-soak: FAIL: RSS grew by %llu KiB after the warm-up (more than %llu KiB)\n",
                static_cast<unsigned long long>(growth),
                static_cast<unsigned long long>(opt.max_growth_kib));
    return 1;
  }
  std::printf("kite-soak: OK: RSS flat after the warm-up\n");
  return 0;
}
