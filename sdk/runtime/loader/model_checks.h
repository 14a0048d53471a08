// Consistency checks of a .kite file's metadata beyond its FlatBuffers structure: values a
// hostile or damaged file could carry that would otherwise load and compute garbage.
// Called by Model::Load (model.cc) once the envelope is verified.
#pragma once

#include "sdk/base/status.h"
#include "sdk/runtime/loader/model.h"

namespace kite {
namespace schema {
struct Config;
struct Model;
}  // namespace schema

/// Every float of the config (rope_theta, norm_eps, rope_scaling_factor,
/// rope_low_freq_factor, rope_high_freq_factor) must be finite: NaN and infinities are
/// rejected with kInvalidFormat naming the field ("config.rope_theta = inf is not a finite
/// number"). Range checks stay with the config parsing. Thread-safe.
Status CheckConfigFloats(const schema::Config& config);

/// Segments must be listed in file order without overlapping (each starts at or after the
/// end of the one before), so no byte belongs to two segments. Assumes each segment was
/// already checked to lie inside the file. kInvalidFormat naming both segments otherwise.
Status CheckSegmentsDisjoint(const schema::Model& root);

/// The tensor table must match `config` exactly: every name is unique, every "layers.N."
/// tensor has N < config.n_layers, and the table holds exactly the tensors the config
/// implies (3, or 2 when tied, plus 9 per layer, plus 3 per layer with attention_bias).
/// kInvalidFormat naming the tensor or config.n_layers otherwise. Thread-safe.
Status CheckTensorTable(const schema::Model& root, const ModelConfig& config);

}  // namespace kite
