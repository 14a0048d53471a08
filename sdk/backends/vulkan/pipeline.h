// A compute pipeline with its descriptor set: one shader, N storage-buffer bindings
// (0..N-1), push constants, and specialization constants 0..M-1 (constant 0 is the
// workgroup size along x in every Kite shader).
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Most bindings and specialization constants a pipeline may have.
inline constexpr uint32_t kMaxBindings = 8;
inline constexpr uint32_t kMaxSpecConstants = 8;

/// What to build. All pointers are borrowed for the duration of Pipeline::Create.
struct PipelineDesc {
  const char* name = "";             ///< the shader's name, for messages
  const uint32_t* spirv = nullptr;   ///< SPIR-V words
  size_t spirv_words = 0;
  uint32_t bindings = 0;             ///< storage buffers at bindings 0..bindings-1 of set 0
  uint32_t push_bytes = 0;           ///< size of the push-constant block (multiple of 4)
  const uint32_t* spec = nullptr;    ///< values of specialization constants 0..spec_count-1
  uint32_t spec_count = 0;
};

/// Move-only owner of the shader module, layouts, pipeline, descriptor pool and its one
/// descriptor set. The Device must outlive it. Not thread-safe.
class Pipeline {
 public:
  /// Builds the pipeline. Errors: counts above kMaxBindings/kMaxSpecConstants or a push
  /// block the device cannot hold (kInvalidArgument / kUnsupported); Vulkan failures per
  /// VkCheck, with the shader's name.
  static Result<Pipeline> Create(const Device& device, const PipelineDesc& desc);

  Pipeline(Pipeline&& other);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  Pipeline& operator=(Pipeline&&) = delete;
  ~Pipeline();

  /// Points binding i (i < bindings) at buffers[i], whole. Updates the descriptor set, so it
  /// must not be called while a submitted command buffer that uses this pipeline runs.
  void Bind(const Buffer* const* buffers);

  /// Records the pipeline, its descriptor set, `push` (push_bytes bytes) and a dispatch of
  /// groups_x x groups_y workgroups into `commands`, followed by a barrier that makes the
  /// shader's writes visible to later shader reads and to the host.
  void Record(VkCommandBuffer commands, const void* push, uint32_t groups_x,
              uint32_t groups_y) const;

 private:
  Pipeline() = default;

  VkDevice device_ = VK_NULL_HANDLE;
  uint32_t bindings_ = 0;
  uint32_t push_bytes_ = 0;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

/// Checks `workgroup_size` for a shader whose workgroups are at least `min_size` wide
/// (0: the device's largest) and returns the size to use: a power of two in [min_size,
/// device.max_workgroup_size()], else kInvalidArgument naming `shader`. Pure.
Result<uint32_t> ChooseWorkgroupSize(const Device& device, uint32_t workgroup_size,
                                     uint32_t min_size, const char* shader);

}  // namespace kite::vulkan
