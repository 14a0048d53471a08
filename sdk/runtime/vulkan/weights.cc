#include "sdk/runtime/vulkan/weights.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "sdk/backends/vulkan/command_stream.h"
#include "sdk/backends/vulkan/q4g_matvec.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"

namespace kite::vk_runtime {

namespace {

// Largest staging buffer an upload uses (a part larger than this gets one of its size).
constexpr uint64_t kStagingBytes = 16ull << 20;
// Offsets inside the staging buffer are aligned to this (any copy alignment suffices).
constexpr uint64_t kStagingAlign = 16;

// One tensor to place, and where its DeviceTensor goes.
struct Planned {
  const TensorView* view;
  DeviceTensor* out;
  bool vector;        // one f32 part, read whole (norms, biases)
  bool f16;           // stored as f16 (WeightOptions::f16_matrices)
  uint32_t part_rows;  // rows per part (whole row blocks)
  uint32_t parts;
};

// One buffer's bytes in the file: `bytes` from src, then `bytes2` from src2 (the mins after
// the scales of a Q4_ROW_GROUPS part).
struct Copy {
  vulkan::Buffer* dst;
  const void* src;
  uint64_t bytes;
  const void* src2 = nullptr;
  uint64_t bytes2 = 0;
  bool to_f16 = false;  // src holds bytes / 4 floats, written as f16 (the buffer: bytes / 2)
};

// Whether a matrix part has a second buffer: Q8_C row scales, Q4_ROW_GROUPS scales (and
// mins).
bool HasParams(const TensorView& t) {
  return t.dtype == DType::Q8_C || (t.dtype == DType::Q4_G && t.layout == Layout::Q4_ROW_GROUPS);
}

Status Unsupported(const TensorView& t, const char* why) {
  return Status::Make(Error::kUnsupported,
                      "tensor '%s' (%s, %s): %s", t.name, DTypeName(t.dtype),
                      LayoutName(t.layout), why);
}

// Plans `t`'s parts within `limit` bytes per buffer.
Status Plan(const TensorView& t, DeviceTensor* out, bool vector, uint64_t limit,
            std::vector<Planned>* plan, bool f16 = false) {
  Planned p{&t, out, vector, f16 && !vector && t.dtype == DType::F32, t.rows, 1};
  if (vector) {
    if (t.dtype != DType::F32) return Unsupported(t, "vectors must be f32 on Vulkan");
    if (t.data_size > limit) {
      return Status::Make(Error::kUnsupported,
                          "tensor '%s': %llu bytes exceed the Vulkan binding limit of %llu "
                          "bytes (vectors are not split)",
                          t.name, static_cast<unsigned long long>(t.data_size),
                          static_cast<unsigned long long>(limit));
    }
    plan->push_back(p);
    return Status::Ok();
  }
  if (!MatrixEncodingSupported(t)) {
    return Unsupported(t,
                       "the Vulkan backend runs f32, q8_c, q4_g in Q4_R16_G32(_SYM, _CB), "
                       "Q3_R16_G32, Q3_R16_G64 or Q4_ROW_GROUPS (groups a multiple of 8) and "
                       "q4_g_sp24");
  }
  const Encoding& enc = *FindEncoding(t.dtype, t.layout);
  const uint64_t block_bytes = RowBlockBytes(enc, t.cols, t.group_size);
  // Q8_C parts also hold one f32 scale per row in a buffer of their own.
  const uint64_t per_block = block_bytes > 4ull * enc.block_rows ? block_bytes
                                                                 : 4ull * enc.block_rows;
  if (per_block > limit) {
    return Status::Make(Error::kUnsupported,
                        "tensor '%s': one block of %u rows takes %llu bytes, above the Vulkan "
                        "binding limit of %llu bytes",
                        t.name, enc.block_rows, static_cast<unsigned long long>(per_block),
                        static_cast<unsigned long long>(limit));
  }
  const uint64_t blocks = (t.rows + enc.block_rows - 1) / enc.block_rows;
  const uint64_t blocks_per_part = limit / per_block < blocks ? limit / per_block : blocks;
  p.part_rows = static_cast<uint32_t>(blocks_per_part * enc.block_rows);
  p.parts = static_cast<uint32_t>((blocks + blocks_per_part - 1) / blocks_per_part);
  plan->push_back(p);
  return Status::Ok();
}

// Bytes of the buffer holding `c`.
uint64_t BufferBytes(const Copy& c) { return (c.to_f16 ? c.bytes / 2 : c.bytes) + c.bytes2; }

// Writes `c`'s bytes at `dst` (its buffer's size), zeroing the rounding tail.
void Fill(const Copy& c, void* dst) {
  if (c.to_f16) {
    const float* src = static_cast<const float*>(c.src);
    uint16_t* out = static_cast<uint16_t*>(dst);
    for (uint64_t i = 0; i < c.bytes / 4; ++i) out[i] = FloatToHalf(src[i]);
    std::memset(static_cast<char*>(dst) + c.bytes / 2, 0, c.dst->size() - c.bytes / 2);
    return;
  }
  std::memcpy(dst, c.src, c.bytes);
  if (c.bytes2 != 0) std::memcpy(static_cast<char*>(dst) + c.bytes, c.src2, c.bytes2);
  std::memset(static_cast<char*>(dst) + c.bytes + c.bytes2, 0,
              c.dst->size() - c.bytes - c.bytes2);
}

// Copies through staging buffers of at most kStagingBytes (or the largest buffer).
Status Stage(const vulkan::Device& device, const std::vector<Copy>& copies) {
  uint64_t largest = 0, total = 0;
  for (const Copy& c : copies) {
    largest = c.dst->size() > largest ? c.dst->size() : largest;
    total += (c.dst->size() + kStagingAlign - 1) / kStagingAlign * kStagingAlign;
  }
  if (copies.empty()) return Status::Ok();
  uint64_t size = total < kStagingBytes ? total : kStagingBytes;
  size = size > largest ? size : largest;
  KITE_ASSIGN_OR_RETURN(vulkan::Buffer staging,
                        vulkan::Buffer::Create(device, size, "weight staging"));
  KITE_ASSIGN_OR_RETURN(vulkan::CommandStream stream, vulkan::CommandStream::Create(device));
  size_t next = 0;
  while (next < copies.size()) {
    KITE_ASSIGN_OR_RETURN(VkCommandBuffer cmd, stream.Begin());
    uint64_t offset = 0;
    while (next < copies.size() && offset + copies[next].dst->size() <= staging.size()) {
      const Copy& c = copies[next++];
      Fill(c, static_cast<char*>(staging.data()) + offset);
      VkBufferCopy region = {};
      region.srcOffset = offset;
      region.size = c.dst->size();
      device.vk().CmdCopyBuffer(cmd, staging.handle(), c.dst->handle(), 1, &region);
      offset += (c.dst->size() + kStagingAlign - 1) / kStagingAlign * kStagingAlign;
    }
    VkMemoryBarrier barrier = {};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    device.vk().CmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, nullptr,
                                   0, nullptr);
    KITE_RETURN_IF_ERROR(stream.SubmitAndWait(kSubmitTimeoutNs));
  }
  return Status::Ok();
}

// Whether `c`'s bytes are one run of host memory (importable as one buffer).
bool Contiguous(const Copy& c) {
  return c.src2 == nullptr || static_cast<const char*>(c.src) + c.bytes == c.src2;
}

// Rows of part i of planned tensor `p` (no buffers yet).
TensorPart PartRows(const Planned& p, uint32_t i) {
  TensorPart part;
  part.row_begin = i * p.part_rows;
  part.row_count = p.view->rows - part.row_begin < p.part_rows ? p.view->rows - part.row_begin
                                                              : p.part_rows;
  return part;
}

// Calls f(copy) for each buffer of planned tensor `p` (copy.dst null), in order: per part,
// its data bytes, then (HasParams) its Q8_C row scales, or its Q4_ROW_GROUPS f16 scales
// followed by its mins (contiguous only where the mins follow the scales in the file).
template <class F>
void ForEachBuffer(const Planned& p, F f) {
  const TensorView& t = *p.view;
  const Encoding& enc = *FindEncoding(t.dtype, t.layout);
  const uint64_t block_bytes = RowBlockBytes(enc, t.cols, t.group_size);
  for (uint32_t i = 0; i < p.parts; ++i) {
    const TensorPart part = PartRows(p, i);
    const uint64_t offset = part.row_begin / enc.block_rows * block_bytes;
    uint64_t bytes = (part.row_count + enc.block_rows - 1) / enc.block_rows * block_bytes;
    if (offset + bytes > t.data_size) bytes = t.data_size - offset;
    f(Copy{nullptr, static_cast<const char*>(t.data) + offset, bytes});
    if (t.dtype == DType::Q8_C) {
      f(Copy{nullptr, static_cast<const float*>(t.scales) + part.row_begin,
             part.row_count * 4ull});
    } else if (HasParams(t)) {
      const uint64_t cells = uint64_t{part.row_count} * t.groups();
      const uint64_t first = uint64_t{part.row_begin} * t.groups();
      const uint16_t* mins = static_cast<const uint16_t*>(t.mins);
      f(Copy{nullptr, static_cast<const uint16_t*>(t.scales) + first, cells * 2,
             mins != nullptr ? mins + first : nullptr, mins != nullptr ? cells * 2 : 0});
    }
  }
}

// Imports the pages of the model file that hold the `wanted` buffers' bytes, in as many
// imports as the allocation limit needs (vulkan::SplitImports), into *hosts. An import
// that fails is skipped under kAuto (its buffers are copied); under kImport, when nothing
// can be imported or an import fails, the error is returned.
Status Import(const vulkan::Device& device, const Model& model, const std::vector<Copy>& wanted,
              const WeightOptions& options, std::vector<vulkan::HostMemory>* hosts) {
  std::vector<vulkan::HostRange> spans;
  spans.reserve(wanted.size());
  for (const Copy& c : wanted) {
    // Buffers are whole 32-bit words (Buffer's rule): the span a buffer would bind.
    const uintptr_t begin = reinterpret_cast<uintptr_t>(c.src);
    if (Contiguous(c) && !c.to_f16) {
      spans.push_back({begin, begin + (c.bytes + c.bytes2 + 3) / 4 * 4});
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const vulkan::HostRange& a, const vulkan::HostRange& b) {
              return a.begin < b.begin;
            });
  const vulkan::DeviceFacts& facts = device.facts();
  uint64_t limit = facts.max_memory_allocation_size;
  if (options.max_import_bytes != 0 && (limit == 0 || options.max_import_bytes < limit)) {
    limit = options.max_import_bytes;
  }
  const FileMap& file = model.bytes();
  const uintptr_t base = reinterpret_cast<uintptr_t>(file.data());
  std::vector<vulkan::HostRange> ranges;
  vulkan::SplitImports({base, base + file.size()}, spans.data(), spans.size(),
                       facts.min_imported_host_pointer_alignment, limit, &ranges);
  const bool forced = options.placement == WeightPlacement::kImport;
  if (ranges.empty() && forced) {
    // Nothing fits: HostMemory::Import names the reason (no extension, the limit, ...).
    vulkan::HostRange all = spans.empty() ? vulkan::HostRange{} : spans.front();
    for (const vulkan::HostRange& r : spans) all.end = r.end > all.end ? r.end : all.end;
    return vulkan::HostMemory::Import(
               device, vulkan::ImportRange({base, base + file.size()}, all,
                                           facts.min_imported_host_pointer_alignment),
               "model weights", limit)
        .status();
  }
  hosts->reserve(ranges.size());
  for (const vulkan::HostRange& r : ranges) {
    Result<vulkan::HostMemory> host = vulkan::HostMemory::Import(device, r, "model weights", limit);
    if (host.ok()) {
      hosts->push_back(std::move(host.value()));
    } else if (forced) {
      return host.status();
    }
  }
  return Status::Ok();
}

// Makes the buffer for `c` (c.dst is ignored): bound inside the import of `hosts` that holds
// its bytes where they are contiguous there and its offset aligned, else device-local with
// `c` queued in *copies. Adds an imported buffer's size to *imported (copies are counted
// when they are made).
Status Place(const vulkan::Device& device, const std::vector<vulkan::HostMemory>& hosts, Copy c,
             const char* what, std::vector<vulkan::Buffer>* buffers, std::vector<Copy>* copies,
             uint64_t* imported) {
  const uint64_t total = BufferBytes(c);
  uint64_t offset = 0;
  // The buffer's alignment is checked by CreateIn; minStorageBufferOffsetAlignment is a
  // cheap first filter.
  for (const vulkan::HostMemory& host : hosts) {
    if (!Contiguous(c) || c.to_f16 ||
        !vulkan::ImportOffset(host.range(), reinterpret_cast<uintptr_t>(c.src), total,
                              device.properties().limits.minStorageBufferOffsetAlignment,
                              &offset)) {
      continue;
    }
    Result<vulkan::Buffer> in = vulkan::Buffer::CreateIn(device, host, offset, total, what);
    if (in.ok()) {
      buffers->push_back(std::move(in.value()));
      *imported += buffers->back().size();
      return Status::Ok();
    }
    break;
  }
  KITE_ASSIGN_OR_RETURN(vulkan::Buffer data, vulkan::Buffer::Create(device, total, what,
                                                                    vulkan::Memory::kDeviceLocal));
  buffers->push_back(std::move(data));
  c.dst = &buffers->back();
  copies->push_back(c);
  return Status::Ok();
}

}  // namespace

F16Matrices F16MatricesFromEnvironment(F16Matrices fallback) {
  const char* v = std::getenv(kF16WeightsEnv);
  if (v != nullptr && std::strcmp(v, "0") == 0) return F16Matrices::kOff;
  if (v != nullptr && std::strcmp(v, "1") == 0) return F16Matrices::kOn;
  return fallback;
}

Result<bool> ChooseF16Matrices(const vulkan::DeviceFacts& facts, F16Matrices mode) {
  if (mode == F16Matrices::kOff) return false;
  if (mode == F16Matrices::kAuto) {
    return !vulkan::IsCpuDevice(facts.type) && facts.storage_buffer_16bit;
  }
  KITE_CHECK_OR_RETURN(facts.storage_buffer_16bit, Error::kUnsupported,
                       "f16 weights: Vulkan device '%s' lacks storageBuffer16BitAccess",
                       facts.name);
  return true;
}

WeightPlacement WeightPlacementFromEnvironment(WeightPlacement fallback) {
  const char* v = std::getenv(kWeightImportEnv);
  if (v != nullptr && std::strcmp(v, "0") == 0) return WeightPlacement::kCopy;
  if (v != nullptr && std::strcmp(v, "1") == 0) return WeightPlacement::kImport;
  return fallback;
}

bool MatrixEncodingSupported(const TensorView& t) {
  switch (t.dtype) {
    case DType::F32:
    case DType::Q8_C:
      return t.layout == Layout::ROW_MAJOR;
    case DType::Q4_G:
      return t.layout == Layout::Q4_R16_G32 || t.layout == Layout::Q4_R16_G32_SYM ||
             t.layout == Layout::Q4_R16_G32_CB || t.layout == Layout::Q3_R16_G32 ||
             t.layout == Layout::Q3_R16_G64 ||
             (t.layout == Layout::Q4_ROW_GROUPS && t.group_size % 8 == 0 &&
              t.group_size <= vulkan::kQ4gMaxGroup);
    case DType::Q4_G_SP24:
      return t.layout == Layout::Q4_SP24_R16_G64;
    default:
      return false;
  }
}

Result<DeviceWeights> DeviceWeights::Upload(const vulkan::Device& device, const Model& model,
                                            const WeightOptions& options) {
  const ModelConfig& c = model.config();
  const uint64_t range = device.properties().limits.maxStorageBufferRange;
  const uint64_t limit = options.max_binding_bytes != 0 && options.max_binding_bytes < range
                             ? options.max_binding_bytes
                             : range;
  DeviceWeights w;
  w.layers_.resize(c.n_layers);
  std::vector<Planned> plan;
  const TensorView& emb = model.tok_embeddings();
  KITE_RETURN_IF_ERROR(Plan(emb, &w.embedding_, false, limit, &plan));
  KITE_RETURN_IF_ERROR(Plan(model.norm(), &w.norm_, true, limit, &plan));
  const bool tied = &model.output() == &model.tok_embeddings() ||
                    model.output().data == model.tok_embeddings().data;
  const bool f16 = options.f16_matrices;
  if (!tied) {
    KITE_RETURN_IF_ERROR(Plan(model.output(), &w.output_, false, limit, &plan, f16));
  }
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = model.layer(l);
    LayerTensors& lt = w.layers_[l];
    KITE_RETURN_IF_ERROR(Plan(lw.attention_norm, &lt.attention_norm, true, limit, &plan));
    KITE_RETURN_IF_ERROR(Plan(lw.ffn_norm, &lt.ffn_norm, true, limit, &plan));
    const TensorView* matrices[] = {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2, &lw.w3};
    DeviceTensor* outs[] = {&lt.wq, &lt.wk, &lt.wv, &lt.wo, &lt.w1, &lt.w2, &lt.w3};
    for (size_t i = 0; i < 7; ++i) {
      KITE_RETURN_IF_ERROR(Plan(*matrices[i], outs[i], false, limit, &plan, f16));
    }
    if (c.attention_bias) {
      KITE_RETURN_IF_ERROR(Plan(lw.bq, &lt.bq, true, limit, &plan));
      KITE_RETURN_IF_ERROR(Plan(lw.bk, &lt.bk, true, limit, &plan));
      KITE_RETURN_IF_ERROR(Plan(lw.bv, &lt.bv, true, limit, &plan));
    }
  }

  // The placement, decided once for the model: import the pages of the file that hold the
  // weights, or copy.
  WeightPlacement placement = options.placement;
  if (options.force_staging) placement = WeightPlacement::kCopy;
  if (placement == WeightPlacement::kAuto) {
    placement = vulkan::PreferHostImport(device.facts()) ? WeightPlacement::kImport
                                                         : WeightPlacement::kCopy;
  }
  size_t parts = 0, buffers = 0;
  for (const Planned& p : plan) {
    parts += p.parts;
    buffers += p.parts * (HasParams(*p.view) ? 2 : 1);
  }
  // Every buffer's bytes, in the order of the placement below.
  std::vector<Copy> wanted;
  wanted.reserve(buffers);
  for (const Planned& p : plan) {
    ForEachBuffer(p, [&](Copy c) {
      c.to_f16 = p.f16;
      wanted.push_back(c);
    });
  }
  if (placement == WeightPlacement::kImport) {
    KITE_RETURN_IF_ERROR(Import(device, model, wanted, options, &w.hosts_));
  }

  // Parts and tensors point into these: no reallocation after this.
  w.parts_.reserve(parts);
  w.buffers_.reserve(buffers);
  std::vector<Copy> copies;
  copies.reserve(buffers);
  size_t next = 0;  // into wanted
  for (const Planned& p : plan) {
    const TensorView& t = *p.view;
    p.out->view = &t;
    p.out->parts = w.parts_.data() + w.parts_.size();
    p.out->part_count = p.parts;
    p.out->f16 = p.f16;
    for (uint32_t i = 0; i < p.parts; ++i) {
      TensorPart part = PartRows(p, i);
      KITE_RETURN_IF_ERROR(Place(device, w.hosts_, wanted[next++], t.name, &w.buffers_, &copies,
                                 &w.imported_bytes_));
      part.data = &w.buffers_.back();
      if (HasParams(t)) {
        KITE_RETURN_IF_ERROR(Place(device, w.hosts_, wanted[next++], t.name, &w.buffers_,
                                   &copies, &w.imported_bytes_));
        part.scales = &w.buffers_.back();
      }
      w.parts_.push_back(part);
    }
  }
  if (tied) {
    w.output_ = w.embedding_;
    w.output_.view = &model.output();
  }

  // Mappable device-local memory (unified memory) is written directly unless the staging
  // path is forced; the rest goes through staging buffers.
  std::vector<Copy> staged;
  for (const Copy& copy : copies) {
    w.bytes_ += copy.dst->size();
    if (copy.dst->data() != nullptr && !options.force_staging) {
      Fill(copy, copy.dst->data());
    } else {
      staged.push_back(copy);
    }
  }
  w.staged_ = !staged.empty();
  KITE_RETURN_IF_ERROR(Stage(device, staged));
  return Result<DeviceWeights>(std::move(w));
}

}  // namespace kite::vk_runtime
