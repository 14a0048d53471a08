// This process's memory as Linux reports it in /proc/self. Host tools only.
#pragma once

#include <cstdint>

namespace kite::bench {

/// Bytes of this process's memory mapped with 2 MiB pages: file pages (FilePmdMapped, a
/// mapped model whose page cache holds 2 MiB folios) plus anonymous ones (AnonHugePages:
/// kite_model_options.huge_pages, the roofline buffer). 0 where /proc/self/smaps_rollup is
/// missing.
uint64_t HugeMappedBytes();

/// Of those, the anonymous ones only (AnonHugePages).
uint64_t AnonHugeBytes();

}  // namespace kite::bench
