// CPU features for targets without a detector yet (Arm, RISC-V, bare metal): nothing
// beyond the baseline, so dispatch picks the scalar kernels.
#include "platform/cpu_features.h"

namespace kite {

const CpuFeatures& GetCpuFeatures() {
  static constexpr CpuFeatures kNone{};
  return kNone;
}

}  // namespace kite
