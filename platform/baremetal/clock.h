// The bare-metal clock hook. Kite only uses the clock to report timings (GenerateStats);
// no decision depends on it.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Monotonic time in nanoseconds for kite::NowNanoseconds() on bare metal. The library's
/// default (a weak symbol) has no timer to read: it returns a counter that grows by one
/// per call, so timings come out as tiny meaningless numbers but order is kept. Firmware
/// with a timer (SysTick, DWT->CYCCNT, a free-running peripheral timer) defines this
/// function to report real time. Called from the generating thread only.
uint64_t kite_baremetal_now_ns(void);

#ifdef __cplusplus
}  // extern "C"
#endif
