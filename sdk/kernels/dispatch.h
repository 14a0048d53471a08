// The kernel table: one function pointer per kernel family, chosen once when a model is
// loaded. Hot code calls through the table and never asks which ISA it runs on.
#pragma once

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/q4-matvec/q4-matvec.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/softmax/softmax.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {

/// Instruction sets, lowest first. A request for one picks the best available at or below it.
enum class Isa : int { kScalar = 0, kBest = 1000 };

/// Name of an ISA ("scalar", ...).
const char* IsaName(Isa isa);

/// Function pointers of every kernel family for one ISA. Immutable; shared freely.
struct KernelTable {
  Isa isa;
  F32MatvecFn f32_matvec;
  Q8QuantizeFn q8_quantize;
  Q4MatvecFn q4_matvec;
  Q8cMatvecFn q8c_matvec;
  RmsNormFn rmsnorm;
  RopeFn rope;
  SoftmaxFn softmax;
  SwigluFn swiglu;
};

/// The best table this CPU supports at or below `max_isa`. Thread-safe; the result is a
/// static object valid for the program's lifetime.
const KernelTable& SelectKernels(Isa max_isa);

}  // namespace kite::kernels
