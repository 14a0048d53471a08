// Monotonic time for timing generation (not used on the decode hot path's decisions).
#pragma once

#include <cstdint>

namespace kite {

/// Nanoseconds from an unspecified fixed point; monotonic. Thread-safe.
uint64_t NowNanoseconds();

}  // namespace kite
