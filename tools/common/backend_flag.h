// The --backend flag (where the forward pass runs) shared by kite-generate, kite-bench and
// kite-eval, and the notice a tool prints when `auto` chose the CPU. Header-only; host tools
// and samples only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "kite/kite.h"
#include "tools/common/flags.h"

namespace kite::flags {

/// "--NAME cpu|vulkan|auto" (NAME is "backend" unless given) storing a kite_backend in
/// *target, for kite_session_options.backend. `help` is the tool's help text for the flag.
inline Flag BackendFlag(uint32_t* target, std::string help, std::string long_name = "backend") {
  return Enum<uint32_t>(0, std::move(long_name), "cpu|vulkan|auto", target,
                        {{"cpu", KITE_BACKEND_CPU},
                         {"vulkan", KITE_BACKEND_VULKAN},
                         {"auto", KITE_BACKEND_AUTO}},
                        std::move(help));
}

/// The help text every tool gives --backend after its own first line.
inline constexpr char kBackendHelp[] =
    "cpu: the CPU kernels (default). vulkan: the model's\n"
    "Vulkan GPU (a CPU device such as lavapipe only with\n"
    "KITE_VULKAN_ALLOW_CPU=1); an error when there is none.\n"
    "auto: the Vulkan GPU when it passes a self-check, else\n"
    "the CPU with a one-line notice. See docs/vulkan.md";

/// The name --backend accepts for a kite_backend ("cpu", "vulkan", "auto"; "?" otherwise).
inline const char* BackendName(uint32_t backend) {
  return backend == KITE_BACKEND_CPU      ? "cpu"
         : backend == KITE_BACKEND_VULKAN ? "vulkan"
         : backend == KITE_BACKEND_AUTO   ? "auto"
                                          : "?";
}

/// Prints the session's backend notice (why `auto` runs on the CPU) to stderr as
/// "TOOL: NOTICE", when there is one.
inline void PrintBackendNotice(const char* tool, const kite_session* session) {
  const char* notice = kite_session_backend_notice(session);
  if (notice[0] != '\0') std::fprintf(stderr, "%s: %s\n", tool, notice);
}

}  // namespace kite::flags
