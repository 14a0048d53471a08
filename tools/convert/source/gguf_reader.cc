#include "tools/convert/source/gguf_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/common/input_file.h"
#include "tools/common/quote_name.h"

namespace kite::convert {
namespace {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;  // ggml's GGML_MAX_DIMS

// Size in bytes of a scalar value type; 0 for strings, arrays and unknown types.
uint64_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    default:
      return 0;
  }
}

bool KnownType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }

// Bounds-checked little-endian cursor over the file bytes.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }

  absl::Status Need(uint64_t n, absl::string_view what) const {
    if (n > remaining()) {
      return absl::DataLossError(
          absl::StrFormat("truncated at byte %d: %s needs %d bytes but only %d remain", pos_, what,
                          n, remaining()));
    }
    return absl::OkStatus();
  }
  template <typename T>
  absl::StatusOr<T> Read(absl::string_view what) {
    if (absl::Status s = Need(sizeof(T), what); !s.ok()) return s;
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<absl::string_view> ReadString(absl::string_view what) {
    absl::StatusOr<uint64_t> len = Read<uint64_t>(what);
    if (!len.ok()) return len.status();
    if (*len > remaining()) {
      return absl::DataLossError(
          absl::StrFormat("%s at byte %d: string length %d exceeds the %d bytes left in the file",
                          what, pos_ - 8, *len, remaining()));
    }
    absl::string_view s(reinterpret_cast<const char*>(data_ + pos_), *len);
    pos_ += *len;
    return s;
  }
  void Skip(uint64_t n) { pos_ += n; }  // callers checked Need(n)

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

absl::Status ReadValue(Cursor* c, const std::string& key, GgufValue* v) {
  const std::string what = absl::StrCat("value of ", tools::QuoteName(key));
  absl::StatusOr<uint32_t> type = c->Read<uint32_t>(what);
  if (!type.ok()) return type.status();
  if (!KnownType(*type)) {
    return absl::DataLossError(
        absl::StrFormat("key %s: unknown value type %d", tools::QuoteName(key), *type));
  }
  v->type = static_cast<GgufType>(*type);
  const uint64_t scalar = ScalarSize(v->type);
  if (scalar > 0) {
    if (absl::Status s = c->Need(scalar, what); !s.ok()) return s;
    uint8_t raw[8] = {};
    std::memcpy(raw, c->here(), scalar);
    c->Skip(scalar);
    switch (v->type) {
      case GgufType::kU8:
        v->u = raw[0];
        break;
      case GgufType::kI8:
        v->i = static_cast<int8_t>(raw[0]);
        break;
      case GgufType::kBool:
        if (raw[0] > 1) {
          return absl::DataLossError(absl::StrFormat("key %s: bool value %d is neither 0 nor 1",
                                                     tools::QuoteName(key), raw[0]));
        }
        v->u = raw[0];
        break;
      case GgufType::kU16: {
        uint16_t x;
        std::memcpy(&x, raw, 2);
        v->u = x;
        break;
      }
      case GgufType::kI16: {
        int16_t x;
        std::memcpy(&x, raw, 2);
        v->i = x;
        break;
      }
      case GgufType::kU32: {
        uint32_t x;
        std::memcpy(&x, raw, 4);
        v->u = x;
        break;
      }
      case GgufType::kI32: {
        int32_t x;
        std::memcpy(&x, raw, 4);
        v->i = x;
        break;
      }
      case GgufType::kF32: {
        float x;
        std::memcpy(&x, raw, 4);
        v->f = x;
        break;
      }
      case GgufType::kU64:
        std::memcpy(&v->u, raw, 8);
        break;
      case GgufType::kI64:
        std::memcpy(&v->i, raw, 8);
        break;
      case GgufType::kF64:
        std::memcpy(&v->f, raw, 8);
        break;
      default:
        break;
    }
    return absl::OkStatus();
  }
  if (v->type == GgufType::kString) {
    absl::StatusOr<absl::string_view> s = c->ReadString(what);
    if (!s.ok()) return s.status();
    v->s = *s;
    return absl::OkStatus();
  }
  // Array.
  absl::StatusOr<uint32_t> elem = c->Read<uint32_t>(what);
  if (!elem.ok()) return elem.status();
  absl::StatusOr<uint64_t> count = c->Read<uint64_t>(what);
  if (!count.ok()) return count.status();
  if (!KnownType(*elem) || static_cast<GgufType>(*elem) == GgufType::kArray) {
    return absl::DataLossError(absl::StrFormat(
        "key %s: array element type %d is not supported (unknown, or a nested array)",
        tools::QuoteName(key), *elem));
  }
  v->elem_type = static_cast<GgufType>(*elem);
  v->count = *count;
  const uint64_t elem_size = ScalarSize(v->elem_type);
  // Every element takes at least elem_size bytes (8 for a string's length).
  const uint64_t min_size = elem_size > 0 ? elem_size : 8;
  if (*count > c->remaining() / min_size) {
    return absl::DataLossError(
        absl::StrFormat("key %s: array of %d elements cannot fit in the %d bytes left in the file",
                        tools::QuoteName(key), *count, c->remaining()));
  }
  if (elem_size > 0) {
    v->elems = c->here();
    c->Skip(*count * elem_size);
    if (v->elem_type == GgufType::kBool) {
      for (uint64_t k = 0; k < *count; ++k) {
        if (v->elems[k] > 1) {
          return absl::DataLossError(absl::StrFormat("key %s: bool element %d is neither 0 nor 1",
                                                     tools::QuoteName(key), k));
        }
      }
    }
    return absl::OkStatus();
  }
  v->strings.reserve(*count);
  for (uint64_t k = 0; k < *count; ++k) {
    absl::StatusOr<absl::string_view> s = c->ReadString(absl::StrCat(what, " element ", k));
    if (!s.ok()) return s.status();
    v->strings.push_back(*s);
  }
  return absl::OkStatus();
}

absl::Status WrongType(absl::string_view key, const GgufValue& v, absl::string_view wanted) {
  return absl::InvalidArgumentError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is ",
                                                 GgufTypeName(v.type), ", expected ", wanted));
}

bool IsUnsigned(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kU16 || t == GgufType::kU32 || t == GgufType::kU64;
}
bool IsSigned(GgufType t) {
  return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}

// Element k of a numeric array as a double.
double NumberAt(const GgufValue& v, uint64_t k) {
  const uint8_t* p = v.elems + k * ScalarSize(v.elem_type);
  switch (v.elem_type) {
    case GgufType::kU8:
      return p[0];
    case GgufType::kI8:
      return static_cast<int8_t>(p[0]);
    case GgufType::kBool:
      return p[0];
    case GgufType::kU16: {
      uint16_t x;
      std::memcpy(&x, p, 2);
      return x;
    }
    case GgufType::kI16: {
      int16_t x;
      std::memcpy(&x, p, 2);
      return x;
    }
    case GgufType::kU32: {
      uint32_t x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case GgufType::kI32: {
      int32_t x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case GgufType::kF32: {
      float x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case GgufType::kU64: {
      uint64_t x;
      std::memcpy(&x, p, 8);
      return static_cast<double>(x);
    }
    case GgufType::kI64: {
      int64_t x;
      std::memcpy(&x, p, 8);
      return static_cast<double>(x);
    }
    case GgufType::kF64: {
      double x;
      std::memcpy(&x, p, 8);
      return x;
    }
    default:
      return 0;
  }
}

}  // namespace

std::string GgufTypeName(GgufType type) {
  static const char* const kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  const uint32_t t = static_cast<uint32_t>(type);
  return t < sizeof(kNames) / sizeof(kNames[0]) ? kNames[t] : absl::StrCat("type ", t);
}

std::string GgmlTypeName(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ4_1:
      return "Q4_1";
    case GgmlType::kQ5_0:
      return "Q5_0";
    case GgmlType::kQ5_1:
      return "Q5_1";
    case GgmlType::kQ8_0:
      return "Q8_0";
    case GgmlType::kQ8_1:
      return "Q8_1";
    case GgmlType::kQ2_K:
      return "Q2_K";
    case GgmlType::kQ3_K:
      return "Q3_K";
    case GgmlType::kQ4_K:
      return "Q4_K";
    case GgmlType::kQ5_K:
      return "Q5_K";
    case GgmlType::kQ6_K:
      return "Q6_K";
    case GgmlType::kQ8_K:
      return "Q8_K";
    case GgmlType::kIQ4_NL:
      return "IQ4_NL";
    case GgmlType::kIQ4_XS:
      return "IQ4_XS";
    case GgmlType::kI8:
      return "I8";
    case GgmlType::kI16:
      return "I16";
    case GgmlType::kI32:
      return "I32";
    case GgmlType::kI64:
      return "I64";
    case GgmlType::kF64:
      return "F64";
    case GgmlType::kBF16:
      return "BF16";
  }
  return absl::StrCat("type ", static_cast<uint32_t>(type));
}

bool GgmlBlockInfo(GgmlType type, uint64_t* block_elements, uint64_t* block_bytes) {
  struct Info {
    GgmlType type;
    uint64_t elements, bytes;
  };
  static const Info kInfo[] = {
      {GgmlType::kF32, 1, 4},        {GgmlType::kF16, 1, 2},      {GgmlType::kQ4_0, 32, 18},
      {GgmlType::kQ4_1, 32, 20},     {GgmlType::kQ5_0, 32, 22},   {GgmlType::kQ5_1, 32, 24},
      {GgmlType::kQ8_0, 32, 34},     {GgmlType::kQ8_1, 32, 36},   {GgmlType::kQ2_K, 256, 84},
      {GgmlType::kQ3_K, 256, 110},   {GgmlType::kQ4_K, 256, 144}, {GgmlType::kQ5_K, 256, 176},
      {GgmlType::kQ6_K, 256, 210},   {GgmlType::kQ8_K, 256, 292}, {GgmlType::kIQ4_NL, 32, 18},
      {GgmlType::kIQ4_XS, 256, 136}, {GgmlType::kI8, 1, 1},       {GgmlType::kI16, 1, 2},
      {GgmlType::kI32, 1, 4},        {GgmlType::kI64, 1, 8},      {GgmlType::kF64, 1, 8},
      {GgmlType::kBF16, 1, 2},
  };
  for (const Info& i : kInfo) {
    if (i.type == type) {
      *block_elements = i.elements;
      *block_bytes = i.bytes;
      return true;
    }
  }
  return false;
}

const GgufValue* GgufFile::Find(absl::string_view key) const {
  for (const auto& kv : values_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

const GgufTensor* GgufFile::FindTensor(absl::string_view name) const {
  for (const GgufTensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<std::string> GgufFile::GetString(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (v->type != GgufType::kString) return WrongType(key, *v, "string");
  return std::string(v->s);
}

absl::StatusOr<uint64_t> GgufFile::GetUint(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (IsUnsigned(v->type)) return v->u;
  if (IsSigned(v->type) && v->i >= 0) return static_cast<uint64_t>(v->i);
  return WrongType(key, *v, "a non-negative integer");
}

absl::StatusOr<int64_t> GgufFile::GetInt(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (IsSigned(v->type)) return v->i;
  if (IsUnsigned(v->type) && v->u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->u);
  }
  return WrongType(key, *v, "an integer");
}

absl::StatusOr<double> GgufFile::GetFloat(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (v->type == GgufType::kF32 || v->type == GgufType::kF64) return v->f;
  if (IsUnsigned(v->type)) return static_cast<double>(v->u);
  if (IsSigned(v->type)) return static_cast<double>(v->i);
  return WrongType(key, *v, "a number");
}

absl::StatusOr<bool> GgufFile::GetBool(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (v->type != GgufType::kBool) return WrongType(key, *v, "bool");
  return v->u != 0;
}

absl::StatusOr<std::vector<std::string>> GgufFile::GetStringArray(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (v->type != GgufType::kArray || v->elem_type != GgufType::kString) {
    return WrongType(key, *v, "an array of strings");
  }
  return std::vector<std::string>(v->strings.begin(), v->strings.end());
}

absl::StatusOr<std::vector<double>> GgufFile::GetNumberArray(absl::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr)
    return absl::NotFoundError(absl::StrCat("GGUF key ", tools::QuoteName(key), " is missing"));
  if (v->type != GgufType::kArray || ScalarSize(v->elem_type) == 0) {
    return WrongType(key, *v, "an array of numbers");
  }
  std::vector<double> out(v->count);
  for (uint64_t k = 0; k < v->count; ++k) out[k] = NumberAt(*v, k);
  return out;
}

absl::StatusOr<GgufFile> ParseGguf(std::vector<uint8_t> bytes) {
  GgufFile file;
  file.bytes_ = std::move(bytes);
  const uint64_t size = file.bytes_.size();
  Cursor c(file.bytes_.data(), size);
  if (size < 4 || std::memcmp(file.bytes_.data(), "GGUF", 4) != 0) {
    return absl::InvalidArgumentError("not a GGUF file (the first 4 bytes are not \"GGUF\")");
  }
  c.Skip(4);
  absl::StatusOr<uint32_t> version = c.Read<uint32_t>("the version");
  if (!version.ok()) return version.status();
  if (*version == 1) {
    return absl::UnimplementedError(
        "GGUF version 1 is not supported (re-convert the model "
        "with a current llama.cpp to get version 3)");
  }
  if (*version != 2 && *version != 3) {
    // A byte-swapped small number is a big-endian file.
    const uint32_t swapped = ((*version & 0xFF) << 24) | ((*version & 0xFF00) << 8) |
                             ((*version >> 8) & 0xFF00) | (*version >> 24);
    if (swapped >= 1 && swapped <= 3) {
      return absl::UnimplementedError("big-endian GGUF files are not supported");
    }
    return absl::UnimplementedError(
        absl::StrFormat("GGUF version %d is not supported (this reader knows 2 and 3)", *version));
  }
  file.version_ = *version;
  absl::StatusOr<uint64_t> n_tensors = c.Read<uint64_t>("the tensor count");
  if (!n_tensors.ok()) return n_tensors.status();
  absl::StatusOr<uint64_t> n_kv = c.Read<uint64_t>("the key/value count");
  if (!n_kv.ok()) return n_kv.status();
  // A pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least
  // 8 + 4 + 8 + 4 + 8.
  if (*n_kv > c.remaining() / 13) {
    return absl::DataLossError(absl::StrFormat(
        "the header claims %d key/value pairs, more than the file can hold", *n_kv));
  }
  if (*n_tensors > c.remaining() / 32) {
    return absl::DataLossError(
        absl::StrFormat("the header claims %d tensors, more than the file can hold", *n_tensors));
  }

  std::set<absl::string_view> keys;
  file.values_.reserve(*n_kv);
  for (uint64_t k = 0; k < *n_kv; ++k) {
    absl::StatusOr<absl::string_view> key = c.ReadString(absl::StrCat("key ", k));
    if (!key.ok()) return key.status();
    if (!keys.insert(*key).second) {
      return absl::DataLossError(absl::StrCat("key ", tools::QuoteName(*key), " appears twice"));
    }
    GgufValue value;
    if (absl::Status s = ReadValue(&c, std::string(*key), &value); !s.ok()) return s;
    file.values_.emplace_back(std::string(*key), std::move(value));
  }

  if (const GgufValue* a = file.Find("general.alignment")) {
    if (a->type != GgufType::kU32) {
      return absl::DataLossError(
          absl::StrCat("general.alignment is ", GgufTypeName(a->type), ", expected u32"));
    }
    if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return absl::DataLossError(
          absl::StrFormat("general.alignment = %d is not a power of two", a->u));
    }
    file.alignment_ = static_cast<uint32_t>(a->u);
  } else {
    file.alignment_ = kDefaultAlignment;
  }

  std::set<std::string> names;
  file.tensors_.reserve(*n_tensors);
  for (uint64_t k = 0; k < *n_tensors; ++k) {
    GgufTensor t;
    absl::StatusOr<absl::string_view> name = c.ReadString(absl::StrCat("tensor info ", k));
    if (!name.ok()) return name.status();
    t.name = std::string(*name);
    if (!names.insert(t.name).second) {
      return absl::DataLossError(
          absl::StrCat("tensor ", tools::QuoteName(t.name), " appears twice"));
    }
    const std::string what = absl::StrCat("tensor ", tools::QuoteName(t.name));
    absl::StatusOr<uint32_t> n_dims = c.Read<uint32_t>(what);
    if (!n_dims.ok()) return n_dims.status();
    if (*n_dims < 1 || *n_dims > kMaxDims) {
      return absl::DataLossError(
          absl::StrFormat("%s has %d dimensions (1..%d allowed)", what, *n_dims, kMaxDims));
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      absl::StatusOr<uint64_t> ne = c.Read<uint64_t>(what);
      if (!ne.ok()) return ne.status();
      if (*ne == 0 || *ne > kGgufMaxTensorElements / elements) {
        return absl::DataLossError(absl::StrFormat(
            "%s: extent ne[%d] = %d is zero or makes the tensor too large", what, d, *ne));
      }
      elements *= *ne;
      t.ne.push_back(*ne);
    }
    absl::StatusOr<uint32_t> type = c.Read<uint32_t>(what);
    if (!type.ok()) return type.status();
    t.type = static_cast<GgmlType>(*type);
    uint64_t block_elements = 0, block_bytes = 0;
    if (!GgmlBlockInfo(t.type, &block_elements, &block_bytes)) {
      return absl::UnimplementedError(
          absl::StrFormat("%s has ggml type %d, which this reader does not know", what, *type));
    }
    if (t.ne[0] % block_elements != 0) {
      return absl::DataLossError(
          absl::StrFormat("%s: ne[0] = %d is not a multiple of the %s block size %d", what, t.ne[0],
                          GgmlTypeName(t.type), block_elements));
    }
    t.size = elements / block_elements * block_bytes;  // < 2^48 * 292 / 1: no overflow
    absl::StatusOr<uint64_t> offset = c.Read<uint64_t>(what);
    if (!offset.ok()) return offset.status();
    if (*offset % file.alignment_ != 0) {
      return absl::DataLossError(
          absl::StrFormat("%s: data offset %d is not a multiple of the alignment %d", what, *offset,
                          file.alignment_));
    }
    t.offset = *offset;
    file.tensors_.push_back(std::move(t));
  }

  if (file.tensors_.empty()) return file;  // vocabulary-only files may end right here

  // The data section starts at the next multiple of the alignment.
  const uint64_t data_start = (c.pos() + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (data_start > size) {
    return absl::DataLossError(absl::StrFormat(
        "truncated: the tensor data should start at byte %d but the file has %d bytes", data_start,
        size));
  }
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<uint64_t, size_t>> order;  // (offset, index), to find overlaps
  for (size_t k = 0; k < file.tensors_.size(); ++k) {
    GgufTensor& t = file.tensors_[k];
    if (t.offset > data_size || t.size > data_size - t.offset) {
      return absl::DataLossError(absl::StrFormat(
          "tensor %s: its %d bytes at data offset %d run past the end of the file (the data "
          "section holds %d bytes)",
          tools::QuoteName(t.name), t.size, t.offset, data_size));
    }
    t.data = file.bytes_.data() + data_start + t.offset;
    order.emplace_back(t.offset, k);
  }
  std::sort(order.begin(), order.end());
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensor& prev = file.tensors_[order[k - 1].second];
    if (prev.offset + prev.size > order[k].first) {
      return absl::DataLossError(absl::StrCat("tensors ", tools::QuoteName(prev.name), " and ",
                                              tools::QuoteName(file.tensors_[order[k].second].name),
                                              " overlap in the data section"));
    }
  }
  return file;
}

absl::StatusOr<GgufFile> ReadGgufFile(const std::string& path) {
  absl::StatusOr<std::string> contents = tools::ReadInputFile(path);
  if (!contents.ok()) return contents.status();
  std::vector<uint8_t> bytes(contents->begin(), contents->end());
  contents->clear();
  contents->shrink_to_fit();
  absl::StatusOr<GgufFile> file = ParseGguf(std::move(bytes));
  if (!file.ok()) {
    return absl::Status(file.status().code(), absl::StrCat(path, ": ", file.status().message()));
  }
  return file;
}

}  // namespace kite::convert
