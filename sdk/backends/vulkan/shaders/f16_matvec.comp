#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
// y = W x for W stored as f16 (the f32 matrices of a model where the device reads f16
// from storage buffers: DeviceFacts::storage_buffer_16bit), f32 arithmetic
// (dense_matvec.glsl).
#define KITE_F16_WEIGHTS
#include "dense_matvec.glsl"
