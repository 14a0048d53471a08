#include "sdk/kernels/dispatch.h"

namespace kite::kernels {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kBest: return "best";
  }
  return "unknown";
}

namespace {
constexpr KernelTable kScalarTable = {
    Isa::kScalar, f32_matvec_ref, q8_quantize_ref, q4_matvec_ref, q8c_matvec_ref,
    rmsnorm_ref,  rope_ref,       softmax_ref,     swiglu_ref,
};
}  // namespace

const KernelTable& SelectKernels(Isa max_isa) {
  (void)max_isa;
  return kScalarTable;
}

}  // namespace kite::kernels
