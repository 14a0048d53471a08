// Reading a whole file into memory, for test code (allocates; no error detail).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace kite::test {

/// Reads the whole file at `path` into *contents. False when it cannot be opened.
inline bool ReadWholeFile(const std::string& path, std::string* contents) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream buffer;
  buffer << file.rdbuf();
  *contents = buffer.str();
  return true;
}

}  // namespace kite::test
