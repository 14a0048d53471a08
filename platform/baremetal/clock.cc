#include "platform/baremetal/clock.h"

#include "platform/clock.h"

extern "C" __attribute__((weak)) uint64_t kite_baremetal_now_ns(void) {
  static uint64_t ticks = 0;
  return ++ticks;
}

namespace kite {

uint64_t NowNanoseconds() { return kite_baremetal_now_ns(); }

}  // namespace kite
