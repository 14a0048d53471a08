// Editing a converted .kite file's metadata to make hostile files for loader tests: in-place
// mutation of fields the file holds, or a round trip through FlatBuffers JSON text to set
// any field (also ones left at their default, which the file does not store). Either way
// the metadata checksum is re-sealed, so the loader's semantic checks (not the CRC) must
// catch the damage. Test code only (links libflatbuffers for the JSON parser).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "flatbuffers/idl.h"
#include "sdk/format/crc32c.h"
#include "sdk/schema/kite_generated.h"

namespace kite::test {

using KiteBytes = std::vector<uint8_t>;

/// Recomputes the metadata CRC-32C record after the size-prefixed FlatBuffer at the start
/// of `b` was changed.
inline void ResealMetadata(KiteBytes* b) {
  uint32_t fb_size = 0;
  std::memcpy(&fb_size, b->data(), 4);
  const size_t total = fb_size + 4u;
  const size_t record = (total + 7) / 8 * 8;
  std::memcpy(b->data() + record, "KCRC", 4);
  const uint32_t crc = Crc32c(b->data(), total);
  std::memcpy(b->data() + record + 4, &crc, 4);
}

/// A copy of `good` with `edit` applied to its metadata in place (only fields the file
/// stores can change; mutate_* returns false for the others), re-sealed.
inline KiteBytes EditMetadata(const KiteBytes& good,
                              const std::function<void(schema::Model*)>& edit) {
  KiteBytes b = good;
  edit(schema::GetMutableSizePrefixedModel(b.data()));
  ResealMetadata(&b);
  return b;
}

/// A parser that knows kite.fbs (KITE_SCHEMA_FBS), printing every scalar, defaults too.
inline bool LoadKiteSchema(flatbuffers::Parser* parser) {
  std::ifstream in(KITE_SCHEMA_FBS, std::ios::binary);
  const std::string schema((std::istreambuf_iterator<char>(in)), {});
  parser->opts.output_default_scalars_in_json = true;
  parser->opts.size_prefixed = true;
  const char* include_dirs[] = {nullptr};
  return !schema.empty() && parser->Parse(schema.c_str(), include_dirs, "kite.fbs");
}

/// The metadata of `file` as FlatBuffers JSON text with every scalar written out.
inline std::string MetadataJson(const KiteBytes& file) {
  flatbuffers::Parser parser;
  EXPECT_TRUE(LoadKiteSchema(&parser)) << parser.error_;
  std::string json;
  EXPECT_TRUE(flatbuffers::GenerateText(parser, file.data(), &json));
  return json;
}

/// Sets `field` of the table that starts at `"<table>: {"` in `json` (FlatBuffers text as
/// MetadataJson prints it) to the literal `value` ("nan", "inf", "3", "\"x\"").
inline std::string SetJsonField(std::string json, const std::string& table,
                                const std::string& field, const std::string& value) {
  const size_t start = json.find(table + ": {");
  EXPECT_NE(start, std::string::npos) << "no table " << table;
  const size_t at = json.find(" " + field + ": ", start);
  EXPECT_NE(at, std::string::npos) << "no field " << table << "." << field;
  const size_t from = at + field.size() + 3;
  const size_t end = json.find_first_of(",\n}", from);
  json.replace(from, end - from, value);
  return json;
}

/// `file` with its metadata replaced by `json` re-encoded; the weights keep their offsets
/// (the new metadata must fit before data_offset, as it does for small test models).
inline KiteBytes WithMetadataJson(const KiteBytes& file, const std::string& json) {
  flatbuffers::Parser parser;
  EXPECT_TRUE(LoadKiteSchema(&parser)) << parser.error_;
  EXPECT_TRUE(parser.Parse(json.c_str())) << parser.error_;
  const uint8_t* fb = parser.builder_.GetBufferPointer();
  const size_t size = parser.builder_.GetSize();
  const uint64_t data_offset = schema::GetSizePrefixedModel(file.data())->data_offset();
  EXPECT_LE((size + 7) / 8 * 8 + 8, data_offset) << "the edited metadata does not fit";
  KiteBytes b = file;
  std::memset(b.data(), 0, static_cast<size_t>(data_offset));
  std::memcpy(b.data(), fb, size);
  ResealMetadata(&b);
  return b;
}

/// Shorthand: `file` with one config/table field set to `value` through the JSON round trip.
inline KiteBytes WithField(const KiteBytes& file, const std::string& table,
                           const std::string& field, const std::string& value) {
  return WithMetadataJson(file, SetJsonField(MetadataJson(file), table, field, value));
}

}  // namespace kite::test
