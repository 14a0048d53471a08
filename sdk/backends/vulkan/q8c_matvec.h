// Q8CMatvec and Q8CMatvecArgs: the dense matvec for one dtype, declared in dense_matvec.h.
#pragma once

#include "sdk/backends/vulkan/dense_matvec.h"
