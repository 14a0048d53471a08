// kite_generate_options with every version 2 sampling option on (min-p, the three
// penalties over a window, a logit bias that bans token 13, two stop strings that the
// stories do not reach), for tests that must hold whatever the options.
#pragma once

#include <cmath>

#include "kite/kite.h"

namespace kite::test {

/// The token TurnOnEveryGenerateOption bans.
inline constexpr int32_t kBannedToken = 13;

/// Sets every version 2 sampling option of `o` (the arrays are static).
inline void TurnOnEveryGenerateOption(kite_generate_options* o) {
  static const kite_logit_bias kBias[] = {{5, 1.5f}, {kBannedToken, -INFINITY}};
  static const char* const kStop[] = {"zzq", "\nThe end"};
  o->min_p = 0.02f;
  o->repetition_penalty = 1.2f;
  o->frequency_penalty = 0.1f;
  o->presence_penalty = 0.2f;
  o->penalty_last_n = 32;
  o->logit_bias = kBias;
  o->n_logit_bias = 2;
  o->stop = kStop;
  o->n_stop = 2;
}

}  // namespace kite::test
