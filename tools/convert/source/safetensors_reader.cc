#include "tools/convert/source/safetensors_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "tools/common/input_file.h"
#include "tools/common/json.h"
#include "tools/common/quote_name.h"

namespace kite::convert {
namespace {

absl::Status Corrupt(absl::string_view file, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file, ": safetensors header: ", what));
}

bool MulOverflows(uint64_t a, uint64_t b, uint64_t* product) {
  return __builtin_mul_overflow(a, b, product);
}

// A JSON number that is a non-negative integer (exact in a double).
bool GetUint64(const json::Value& v, uint64_t* out) {
  int64_t i = 0;
  if (!v.GetInt64(&i) || i < 0) return false;
  *out = static_cast<uint64_t>(i);
  return true;
}

absl::StatusOr<SafetensorsEntry> ParseEntry(const std::string& name, const json::Value& v,
                                            absl::string_view file) {
  const std::string where = absl::StrCat("tensor ", tools::QuoteName(name));
  if (!v.is_object()) return Corrupt(file, absl::StrCat(where, " is not an object"));
  SafetensorsEntry e;
  e.name = name;
  const json::Value* dtype = v.Find("dtype");
  if (dtype == nullptr || !dtype->is_string()) {
    return Corrupt(file, absl::StrCat(where, " has no \"dtype\" string"));
  }
  if (dtype->str() == "F32") {
    e.dtype = SafetensorsDType::kF32;
  } else if (dtype->str() == "F16") {
    e.dtype = SafetensorsDType::kF16;
  } else if (dtype->str() == "BF16") {
    e.dtype = SafetensorsDType::kBF16;
  } else {
    return absl::UnimplementedError(absl::StrCat(
        file, ": ", where, " has dtype \"", dtype->str(),
        "\", which kite-convert does not read (supported: F32, F16, BF16)"));
  }
  const json::Value* shape = v.Find("shape");
  if (shape == nullptr || !shape->is_array()) {
    return Corrupt(file, absl::StrCat(where, " has no \"shape\" array"));
  }
  uint64_t elements = 1;
  for (const json::Value& d : shape->array()) {
    uint64_t n = 0;
    if (!GetUint64(d, &n)) {
      return Corrupt(file, absl::StrCat(where, ": shape entries must be non-negative integers"));
    }
    if (MulOverflows(elements, n, &elements)) {
      return Corrupt(file, absl::StrCat(where, ": shape element count overflows"));
    }
    e.shape.push_back(n);
  }
  const json::Value* offsets = v.Find("data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->array().size() != 2 ||
      !GetUint64(offsets->array()[0], &e.begin) || !GetUint64(offsets->array()[1], &e.end) ||
      e.begin > e.end) {
    return Corrupt(file, absl::StrCat(where, ": \"data_offsets\" must be [begin, end] with "
                                             "0 <= begin <= end"));
  }
  uint64_t bytes = 0;
  if (MulOverflows(elements, SafetensorsDTypeBytes(e.dtype), &bytes) || bytes != e.end - e.begin) {
    return Corrupt(file, absl::StrCat(where, ": shape and dtype need ", elements, " x ",
                                      SafetensorsDTypeBytes(e.dtype), " bytes but data_offsets [",
                                      e.begin, ", ", e.end, ") hold ", e.end - e.begin));
  }
  return e;
}

}  // namespace

uint32_t SafetensorsDTypeBytes(SafetensorsDType dtype) {
  return dtype == SafetensorsDType::kF32 ? 4 : 2;
}

const char* SafetensorsDTypeName(SafetensorsDType dtype) {
  switch (dtype) {
    case SafetensorsDType::kF32: return "F32";
    case SafetensorsDType::kF16: return "F16";
    case SafetensorsDType::kBF16: return "BF16";
  }
  return "?";
}

const SafetensorsEntry* SafetensorsHeader::Find(absl::string_view name) const {
  for (const SafetensorsEntry& e : tensors) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view bytes,
                                                         uint64_t file_size,
                                                         absl::string_view file) {
  if (file_size < 8 || bytes.size() < 8) {
    return Corrupt(file, absl::StrCat("the file has ", file_size,
                                      " bytes, too few for the 8-byte header length"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(bytes[i]);
  if (n > kMaxSafetensorsHeaderBytes || n > file_size - 8) {
    return Corrupt(file, absl::StrCat("header length ", n, " is larger than the file (",
                                      file_size, " bytes) or the ", kMaxSafetensorsHeaderBytes,
                                      "-byte limit"));
  }
  if (bytes.size() < 8 + n) {
    return Corrupt(file, absl::StrCat("only ", bytes.size(), " of the ", 8 + n,
                                      " header bytes are available"));
  }
  absl::StatusOr<json::Value> root = json::Parse(std::string_view(bytes.data() + 8, n));
  if (!root.ok()) return Corrupt(file, root.status().message());
  if (!root->is_object()) return Corrupt(file, "the JSON is not an object");

  SafetensorsHeader header;
  header.data_start = 8 + n;
  const uint64_t data_bytes = file_size - header.data_start;
  for (const auto& [name, value] : root->object()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return Corrupt(file, "\"__metadata__\" is not an object");
      continue;
    }
    absl::StatusOr<SafetensorsEntry> e = ParseEntry(name, value, file);
    if (!e.ok()) return e.status();
    if (e->end > data_bytes) {
      return Corrupt(file, absl::StrCat("tensor ", tools::QuoteName(name), " ends at data byte ",
                                        e->end, " but the data section has only ", data_bytes,
                                        " bytes (truncated file?)"));
    }
    header.tensors.push_back(*std::move(e));
  }
  // Overlap and duplicate checks on a sorted copy (index order keeps the error stable).
  std::vector<const SafetensorsEntry*> sorted;
  for (const SafetensorsEntry& e : header.tensors) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->name < b->name;
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->name == sorted[i - 1]->name) {
      return Corrupt(file,
                     absl::StrCat("tensor ", tools::QuoteName(sorted[i]->name), " appears twice"));
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    const SafetensorsEntry& prev = *sorted[i - 1];
    const SafetensorsEntry& cur = *sorted[i];
    // Empty tensors occupy no bytes, so they cannot overlap anything.
    if (cur.begin < prev.end && cur.begin != cur.end) {
      return Corrupt(file, absl::StrCat("tensors ", tools::QuoteName(prev.name), " [", prev.begin,
                                        ", ", prev.end, ") and ", tools::QuoteName(cur.name), " [",
                                        cur.begin, ", ", cur.end, ") overlap"));
    }
  }
  return header;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | mantissa << 13;
  } else if (exponent != 0) {
    bits = sign | (exponent + 112) << 23 | mantissa << 13;
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize into an f32 exponent.
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400) == 0);
    bits = sign | static_cast<uint32_t>(112 - e) << 23 | (mantissa & 0x3FF) << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float Bf16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  uint64_t size = 0;
  absl::StatusOr<int> fd = tools::OpenInputFile(path, &size);
  if (!fd.ok()) return fd.status();
  file.fd_ = *fd;
  // Read the length first, then exactly the header (bounded by the parser's checks).
  std::string head(8, '\0');
  const ssize_t got = pread(file.fd_, head.data(), 8, 0);
  if (got != 8) {
    return ParseSafetensorsHeader(absl::string_view(head.data(), got > 0 ? got : 0), size, path)
        .status();
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(head[i]);
  if (n <= kMaxSafetensorsHeaderBytes && n <= size - 8) {
    head.resize(8 + n);
    uint64_t done = 8;
    while (done < 8 + n) {
      const ssize_t r = pread(file.fd_, head.data() + done, 8 + n - done, static_cast<off_t>(done));
      if (r <= 0) break;
      done += static_cast<uint64_t>(r);
    }
    head.resize(done);
  }
  absl::StatusOr<SafetensorsHeader> header = ParseSafetensorsHeader(head, size, path);
  if (!header.ok()) return header.status();
  file.header_ = *std::move(header);
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), header_(std::move(other.header_)) {
  other.fd_ = -1;
}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    header_ = std::move(other.header_);
    other.fd_ = -1;
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::vector<float>> SafetensorsFile::ReadF32(const SafetensorsEntry& entry) const {
  const uint64_t bytes = entry.end - entry.begin;
  std::vector<uint8_t> raw(bytes);
  uint64_t done = 0;
  while (done < bytes) {
    const ssize_t r = pread(fd_, raw.data() + done, bytes - done,
                            static_cast<off_t>(header_.data_start + entry.begin + done));
    if (r <= 0) {
      return absl::DataLossError(absl::StrCat(path_, ": tensor ", tools::QuoteName(entry.name),
                                              ": read ", done, " of ", bytes,
                                              " bytes (truncated file?)"));
    }
    done += static_cast<uint64_t>(r);
  }
  const uint64_t n = bytes / SafetensorsDTypeBytes(entry.dtype);
  std::vector<float> out(n);
  switch (entry.dtype) {
    case SafetensorsDType::kF32:
      std::memcpy(out.data(), raw.data(), bytes);
      break;
    case SafetensorsDType::kF16:
      for (uint64_t i = 0; i < n; ++i) {
        out[i] = HalfToFloat(static_cast<uint16_t>(raw[2 * i] | raw[2 * i + 1] << 8));
      }
      break;
    case SafetensorsDType::kBF16:
      for (uint64_t i = 0; i < n; ++i) {
        out[i] = Bf16ToFloat(static_cast<uint16_t>(raw[2 * i] | raw[2 * i + 1] << 8));
      }
      break;
  }
  return out;
}

}  // namespace kite::convert
