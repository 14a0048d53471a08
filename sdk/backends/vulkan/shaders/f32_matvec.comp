#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for f32 W (dense_matvec.glsl).
#include "dense_matvec.glsl"
