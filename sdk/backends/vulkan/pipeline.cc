#include "sdk/backends/vulkan/pipeline.h"

#include <cassert>
#include <cstdio>
#include <cstring>
#include <utility>

#include "sdk/backends/vulkan/vk_status.h"

namespace kite::vulkan {

namespace {

// VkCheck with the shader's name in the message.
Status Check(VkResult r, const char* call, const char* shader) {
  char what[96];
  std::snprintf(what, sizeof(what), "%s for shader '%s'", call, shader);
  return VkCheck(r, what);
}

}  // namespace

Result<uint32_t> ChooseWorkgroupSize(const Device& device, uint32_t workgroup_size,
                                     uint32_t min_size, const char* shader) {
  const uint32_t max = device.max_workgroup_size();
  if (workgroup_size == 0) return max;
  KITE_CHECK_OR_RETURN(
      workgroup_size >= min_size && workgroup_size <= max &&
          (workgroup_size & (workgroup_size - 1)) == 0,
      Error::kInvalidArgument,
      "shader '%s': workgroup size %u is not a power of two in [%u, %u] on this device", shader,
      workgroup_size, min_size, max);
  return workgroup_size;
}

Result<Pipeline> Pipeline::Create(const Device& device, const PipelineDesc& desc) {
  KITE_CHECK_OR_RETURN(desc.bindings <= kMaxBindings && desc.spec_count <= kMaxSpecConstants &&
                           desc.push_bytes % 4 == 0 && desc.push_bytes >= kPushHeaderWords * 4 &&
                           desc.push_bytes <= kMaxPushWords * 4 && desc.spirv != nullptr &&
                           desc.spirv_words > 0,
                       Error::kInvalidArgument, "shader '%s': bad pipeline description",
                       desc.name);
  KITE_CHECK_OR_RETURN(desc.push_bytes <= device.properties().limits.maxPushConstantsSize,
                       Error::kUnsupported,
                       "shader '%s' needs %u bytes of push constants; the device has %u",
                       desc.name, desc.push_bytes,
                       device.properties().limits.maxPushConstantsSize);
  Pipeline p;
  p.vk_ = &device.vk();
  p.device_ = device.handle();
  p.name_ = desc.name;
  p.max_groups_[0] = device.properties().limits.maxComputeWorkGroupCount[0];
  p.max_groups_[1] = device.properties().limits.maxComputeWorkGroupCount[1];
  p.bindings_ = desc.bindings;
  p.push_bytes_ = desc.push_bytes;

  VkShaderModuleCreateInfo module_info = {};
  module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  module_info.codeSize = desc.spirv_words * 4;
  module_info.pCode = desc.spirv;
  KITE_RETURN_IF_ERROR(
      Check(p.vk_->CreateShaderModule(p.device_, &module_info, nullptr, &p.module_),
            "vkCreateShaderModule", desc.name));

  VkDescriptorSetLayoutBinding bindings[kMaxBindings] = {};
  for (uint32_t i = 0; i < desc.bindings; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set_info = {};
  set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  set_info.bindingCount = desc.bindings;
  set_info.pBindings = bindings;
  KITE_RETURN_IF_ERROR(
      Check(p.vk_->CreateDescriptorSetLayout(p.device_, &set_info, nullptr, &p.set_layout_),
            "vkCreateDescriptorSetLayout", desc.name));

  VkPushConstantRange push = {};
  push.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  push.size = desc.push_bytes;
  VkPipelineLayoutCreateInfo layout_info = {};
  layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &p.set_layout_;
  layout_info.pushConstantRangeCount = desc.push_bytes > 0 ? 1 : 0;
  layout_info.pPushConstantRanges = &push;
  KITE_RETURN_IF_ERROR(
      Check(p.vk_->CreatePipelineLayout(p.device_, &layout_info, nullptr, &p.layout_),
            "vkCreatePipelineLayout", desc.name));

  // The shader's constants, then the fma mode (a VkBool32).
  VkSpecializationMapEntry entries[kMaxSpecConstants + 1] = {};
  uint32_t values[kMaxSpecConstants + 1] = {};
  for (uint32_t i = 0; i < desc.spec_count; ++i) {
    entries[i].constantID = i;
    entries[i].offset = i * 4;
    entries[i].size = 4;
    values[i] = desc.spec[i];
  }
  entries[desc.spec_count].constantID = kFmaNativeConstantId;
  entries[desc.spec_count].offset = desc.spec_count * 4;
  entries[desc.spec_count].size = 4;
  values[desc.spec_count] = device.fma_native() ? VK_TRUE : VK_FALSE;
  VkSpecializationInfo spec = {};
  spec.mapEntryCount = desc.spec_count + 1;
  spec.pMapEntries = entries;
  spec.dataSize = (desc.spec_count + 1) * 4;
  spec.pData = values;
  VkComputePipelineCreateInfo pipeline_info = {};
  pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipeline_info.stage.module = p.module_;
  pipeline_info.stage.pName = "main";
  pipeline_info.stage.pSpecializationInfo = &spec;
  pipeline_info.layout = p.layout_;
  KITE_RETURN_IF_ERROR(Check(p.vk_->CreateComputePipelines(p.device_, VK_NULL_HANDLE, 1,
                                                           &pipeline_info, nullptr, &p.pipeline_),
                             "vkCreateComputePipelines", desc.name));

  return Result<Pipeline>(std::move(p));
}

Pipeline::Pipeline(Pipeline&& other)
    : vk_(other.vk_),
      device_(other.device_),
      name_(other.name_),
      max_groups_{other.max_groups_[0], other.max_groups_[1]},
      bindings_(other.bindings_),
      push_bytes_(other.push_bytes_),
      module_(other.module_),
      set_layout_(other.set_layout_),
      layout_(other.layout_),
      pipeline_(other.pipeline_) {
  other.module_ = VK_NULL_HANDLE;
  other.set_layout_ = VK_NULL_HANDLE;
  other.layout_ = VK_NULL_HANDLE;
  other.pipeline_ = VK_NULL_HANDLE;
}

Pipeline::~Pipeline() {
  if (pipeline_ != VK_NULL_HANDLE) vk_->DestroyPipeline(device_, pipeline_, nullptr);
  if (layout_ != VK_NULL_HANDLE) vk_->DestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_ != VK_NULL_HANDLE) vk_->DestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  if (module_ != VK_NULL_HANDLE) vk_->DestroyShaderModule(device_, module_, nullptr);
}

Result<Dispatch> Pipeline::Prepare(DescriptorPool& pool, const Buffer* const* buffers,
                                   const void* op_push, uint32_t groups_x,
                                   uint32_t max_tokens, uint32_t max_pos) const {
  for (uint32_t i = 0; i < bindings_; ++i) {
    KITE_CHECK_OR_RETURN(buffers[i] != nullptr, Error::kInvalidArgument,
                         "shader '%s': binding %u has no buffer", name_, i);
  }
  KITE_CHECK_OR_RETURN(groups_x >= 1 && max_tokens >= 1, Error::kInvalidArgument,
                       "shader '%s': %u workgroups for %u tokens", name_, groups_x, max_tokens);
  KITE_CHECK_OR_RETURN(groups_x <= max_groups_[0] && max_tokens <= max_groups_[1],
                       Error::kUnsupported,
                       "shader '%s': %u x %u workgroups exceed the device's limits (%u x %u)",
                       name_, groups_x, max_tokens, max_groups_[0], max_groups_[1]);
  VkDescriptorSetAllocateInfo alloc = {};
  alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  alloc.descriptorPool = pool.handle();
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = &set_layout_;
  Dispatch d;
  const VkResult r = vk_->AllocateDescriptorSets(device_, &alloc, &d.set_);
  KITE_CHECK_OR_RETURN(r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL,
                       Error::kOutOfMemory, "shader '%s': the descriptor pool is exhausted",
                       name_);
  KITE_RETURN_IF_ERROR(Check(r, "vkAllocateDescriptorSets", name_));
  VkDescriptorBufferInfo infos[kMaxBindings] = {};
  VkWriteDescriptorSet writes[kMaxBindings] = {};
  for (uint32_t i = 0; i < bindings_; ++i) {
    infos[i].buffer = buffers[i]->handle();
    infos[i].offset = 0;
    infos[i].range = VK_WHOLE_SIZE;
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = d.set_;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vk_->UpdateDescriptorSets(device_, bindings_, writes, 0, nullptr);
  d.pipeline_ = this;
  d.name_ = name_;
  d.groups_x_ = groups_x;
  d.max_tokens_ = max_tokens;
  d.max_pos_ = max_pos;
  d.push_words_ = push_bytes_ / 4;
  if (push_bytes_ > kPushHeaderWords * 4) {
    std::memcpy(d.push_ + kPushHeaderWords, op_push, push_bytes_ - kPushHeaderWords * 4);
  }
  return d;
}

void Dispatch::Record(VkCommandBuffer commands, uint32_t n_tokens, uint32_t pos,
                      bool barrier) const {
  assert(pipeline_ != nullptr && n_tokens >= 1 && n_tokens <= max_tokens_ && pos <= max_pos_);
  uint32_t push[kMaxPushWords];
  std::memcpy(push, push_, sizeof(push));
  push[0] = n_tokens;
  push[1] = pos;
  const Pipeline& p = *pipeline_;
  p.vk_->CmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline_);
  p.vk_->CmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout_, 0, 1, &set_, 0,
                               nullptr);
  p.vk_->CmdPushConstants(commands, p.layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_words_ * 4,
                          push);
  p.vk_->CmdDispatch(commands, groups_x_, n_tokens, 1);
  if (barrier) RecordBarrier(commands);
}

void Dispatch::RecordBarrier(VkCommandBuffer commands) const {
  VkMemoryBarrier barrier = {};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask =
      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  pipeline_->vk_->CmdPipelineBarrier(
      commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr,
      0, nullptr);
}

Result<DescriptorPool> DescriptorPool::Create(const Device& device, uint32_t max_sets,
                                              uint32_t max_buffers) {
  KITE_CHECK_OR_RETURN(max_sets > 0 && max_buffers > 0, Error::kInvalidArgument,
                       "a descriptor pool for %u sets of %u buffers", max_sets, max_buffers);
  DescriptorPool p;
  p.vk_ = &device.vk();
  p.device_ = device.handle();
  VkDescriptorPoolSize size = {};
  size.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  size.descriptorCount = max_buffers;
  VkDescriptorPoolCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  info.maxSets = max_sets;
  info.poolSizeCount = 1;
  info.pPoolSizes = &size;
  KITE_RETURN_IF_ERROR(VkCheck(p.vk_->CreateDescriptorPool(p.device_, &info, nullptr, &p.pool_),
                               "vkCreateDescriptorPool"));
  return Result<DescriptorPool>(std::move(p));
}

DescriptorPool::DescriptorPool(DescriptorPool&& other)
    : vk_(other.vk_), device_(other.device_), pool_(other.pool_) {
  other.pool_ = VK_NULL_HANDLE;
}

DescriptorPool::~DescriptorPool() {
  if (pool_ != VK_NULL_HANDLE) vk_->DestroyDescriptorPool(device_, pool_, nullptr);  // frees sets
}

}  // namespace kite::vulkan
