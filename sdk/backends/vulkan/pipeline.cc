#include "sdk/backends/vulkan/pipeline.h"

#include <cstdio>
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
                           desc.push_bytes % 4 == 0 && desc.spirv != nullptr &&
                           desc.spirv_words > 0,
                       Error::kInvalidArgument, "shader '%s': bad pipeline description",
                       desc.name);
  KITE_CHECK_OR_RETURN(desc.push_bytes <= device.properties().limits.maxPushConstantsSize,
                       Error::kUnsupported,
                       "shader '%s' needs %u bytes of push constants; the device has %u",
                       desc.name, desc.push_bytes,
                       device.properties().limits.maxPushConstantsSize);
  Pipeline p;
  p.device_ = device.handle();
  p.bindings_ = desc.bindings;
  p.push_bytes_ = desc.push_bytes;

  VkShaderModuleCreateInfo module_info = {};
  module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  module_info.codeSize = desc.spirv_words * 4;
  module_info.pCode = desc.spirv;
  KITE_RETURN_IF_ERROR(Check(vkCreateShaderModule(p.device_, &module_info, nullptr, &p.module_),
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
      Check(vkCreateDescriptorSetLayout(p.device_, &set_info, nullptr, &p.set_layout_),
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
  KITE_RETURN_IF_ERROR(Check(vkCreatePipelineLayout(p.device_, &layout_info, nullptr, &p.layout_),
                             "vkCreatePipelineLayout", desc.name));

  VkSpecializationMapEntry entries[kMaxSpecConstants] = {};
  for (uint32_t i = 0; i < desc.spec_count; ++i) {
    entries[i].constantID = i;
    entries[i].offset = i * 4;
    entries[i].size = 4;
  }
  VkSpecializationInfo spec = {};
  spec.mapEntryCount = desc.spec_count;
  spec.pMapEntries = entries;
  spec.dataSize = desc.spec_count * 4;
  spec.pData = desc.spec;
  VkComputePipelineCreateInfo pipeline_info = {};
  pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipeline_info.stage.module = p.module_;
  pipeline_info.stage.pName = "main";
  pipeline_info.stage.pSpecializationInfo = desc.spec_count > 0 ? &spec : nullptr;
  pipeline_info.layout = p.layout_;
  KITE_RETURN_IF_ERROR(Check(vkCreateComputePipelines(p.device_, VK_NULL_HANDLE, 1,
                                                      &pipeline_info, nullptr, &p.pipeline_),
                             "vkCreateComputePipelines", desc.name));

  VkDescriptorPoolSize pool_size = {};
  pool_size.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  pool_size.descriptorCount = desc.bindings > 0 ? desc.bindings : 1;
  VkDescriptorPoolCreateInfo pool_info = {};
  pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  pool_info.maxSets = 1;
  pool_info.poolSizeCount = 1;
  pool_info.pPoolSizes = &pool_size;
  KITE_RETURN_IF_ERROR(Check(vkCreateDescriptorPool(p.device_, &pool_info, nullptr, &p.pool_),
                             "vkCreateDescriptorPool", desc.name));
  VkDescriptorSetAllocateInfo set_alloc = {};
  set_alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  set_alloc.descriptorPool = p.pool_;
  set_alloc.descriptorSetCount = 1;
  set_alloc.pSetLayouts = &p.set_layout_;
  KITE_RETURN_IF_ERROR(Check(vkAllocateDescriptorSets(p.device_, &set_alloc, &p.set_),
                             "vkAllocateDescriptorSets", desc.name));
  return Result<Pipeline>(std::move(p));
}

Pipeline::Pipeline(Pipeline&& other)
    : device_(other.device_),
      bindings_(other.bindings_),
      push_bytes_(other.push_bytes_),
      module_(other.module_),
      set_layout_(other.set_layout_),
      layout_(other.layout_),
      pipeline_(other.pipeline_),
      pool_(other.pool_),
      set_(other.set_) {
  other.module_ = VK_NULL_HANDLE;
  other.set_layout_ = VK_NULL_HANDLE;
  other.layout_ = VK_NULL_HANDLE;
  other.pipeline_ = VK_NULL_HANDLE;
  other.pool_ = VK_NULL_HANDLE;
  other.set_ = VK_NULL_HANDLE;
}

Pipeline::~Pipeline() {
  if (pool_ != VK_NULL_HANDLE) vkDestroyDescriptorPool(device_, pool_, nullptr);  // frees set_
  if (pipeline_ != VK_NULL_HANDLE) vkDestroyPipeline(device_, pipeline_, nullptr);
  if (layout_ != VK_NULL_HANDLE) vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  if (module_ != VK_NULL_HANDLE) vkDestroyShaderModule(device_, module_, nullptr);
}

void Pipeline::Bind(const Buffer* const* buffers) {
  VkDescriptorBufferInfo infos[kMaxBindings] = {};
  VkWriteDescriptorSet writes[kMaxBindings] = {};
  for (uint32_t i = 0; i < bindings_; ++i) {
    infos[i].buffer = buffers[i]->handle();
    infos[i].offset = 0;
    infos[i].range = VK_WHOLE_SIZE;
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set_;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_, bindings_, writes, 0, nullptr);
}

void Pipeline::Record(VkCommandBuffer commands, const void* push, uint32_t groups_x,
                      uint32_t groups_y) const {
  vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_);
  vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &set_, 0,
                          nullptr);
  if (push_bytes_ > 0) {
    vkCmdPushConstants(commands, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes_, push);
  }
  vkCmdDispatch(commands, groups_x, groups_y, 1);
  VkMemoryBarrier barrier = {};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace kite::vulkan
