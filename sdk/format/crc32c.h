// CRC-32C (Castagnoli), the integrity checksum of .kite metadata and segments.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite {

/// CRC-32C of `size` bytes at `data`, continuing from `crc` (0 to start). Thread-safe.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace kite
