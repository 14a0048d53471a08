#include "tools/convert/compress/compress_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/convert/compress/gptq.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/compress/parallel.h"
#include "tools/convert/compress/prune.h"

namespace kite::convert {

const char* PruneMethodName(PruneMethod method) {
  switch (method) {
    case PruneMethod::kNone: return "none";
    case PruneMethod::kMagnitude: return "magnitude";
    case PruneMethod::kWanda: return "wanda";
    case PruneMethod::k24: return "2:4";
    case PruneMethod::k24Wanda: return "2:4-wanda";
    case PruneMethod::k24SparseGpt: return "2:4-sparsegpt";
  }
  return "?";
}

bool IsPrunableWeight(const std::string& name, const std::vector<uint64_t>& shape) {
  return shape.size() == 2 && absl::StartsWith(name, "layers.");
}

absl::StatusOr<double> PruneModel(SourceModel* model, PruneMethod method, float sparsity,
                                  const CalibrationStats* stats, bool compensate) {
  uint64_t zeros = 0, total = 0;
  for (SourceTensor& t : model->tensors) {
    if (!IsPrunableWeight(t.name, t.shape) || method == PruneMethod::kNone) continue;
    const size_t rows = t.shape[0], cols = t.shape[1];
    std::vector<float> norms;
    const LinearInputStats* found = stats == nullptr ? nullptr : stats->Find(t.name);
    if (found != nullptr && found->cols != cols) found = nullptr;
    if (PruneNeedsCalibration(method)) {
      if (found == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "tensor \"", t.name, "\": no calibration statistics for ", PruneMethodName(method)));
      }
      norms = found->ColumnNorms();
    }
    if (method == PruneMethod::k24SparseGpt) {
      if (absl::Status s = PruneSparseGpt24(t.data.data(), rows, cols, found->xtx.data());
          !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("tensor \"", t.name, "\": ", s.message()));
      }
      for (float v : t.data) zeros += v == 0.0f;
      total += t.data.size();
      continue;
    }
    const std::vector<float> original = compensate && found != nullptr ? t.data
                                                                       : std::vector<float>();
    const float* act = norms.empty() ? nullptr : norms.data();
    absl::Status s = PruneIsTwoFour(method)
                         ? CheckedPrune24(t.data.data(), rows, cols, act)
                         : CheckedPruneUnstructured(t.data.data(), rows, cols, sparsity, act);
    if (s.ok() && !original.empty()) {
      std::vector<uint8_t> mask(t.data.size());
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = t.data[i] == 0.0f;
      t.data = original;
      s = CompensatePruning(t.data.data(), rows, cols, mask.data(), found->xtx.data());
    }
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("tensor \"", t.name, "\": ",
                                                                s.message()));
    for (float v : t.data) zeros += v == 0.0f;
    total += t.data.size();
  }
  return total == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(total);
}

namespace {

// The pointer of `weights` that holds tensor `name` (both head and embedding when tied),
// or null for vectors and unknown names.
std::vector<const float**> WeightSlots(LlamaWeights& w, const std::string& name) {
  if (name == "tok_embeddings") {
    if (w.config.tied_embeddings) return {&w.tok_embeddings, &w.output};
    return {&w.tok_embeddings};
  }
  if (name == "output") return {&w.output};
  if (!absl::StartsWith(name, "layers.")) return {};
  const size_t dot = name.find('.', 7);
  size_t layer = 0;
  if (dot == std::string::npos || !absl::SimpleAtoi(name.substr(7, dot - 7), &layer) ||
      layer >= w.layers.size()) {
    return {};
  }
  LlamaWeights::Layer& l = w.layers[layer];
  const std::string suffix = name.substr(dot + 1);
  if (suffix == "attention.wq") return {&l.wq};
  if (suffix == "attention.wk") return {&l.wk};
  if (suffix == "attention.wv") return {&l.wv};
  if (suffix == "attention.wo") return {&l.wo};
  if (suffix == "feed_forward.w1") return {&l.w1};
  if (suffix == "feed_forward.w2") return {&l.w2};
  if (suffix == "feed_forward.w3") return {&l.w3};
  return {};
}

uint64_t StoredBytes(const KiteTensor& t) { return t.data.size() + t.scales.size() + t.mins.size(); }

// Mean KL(reference || weights) over all positions of `sequences`.
absl::StatusOr<double> MeanKl(const LlamaWeights& weights,
                              const std::vector<std::vector<int32_t>>& sequences,
                              const std::vector<std::vector<float>>& reference) {
  const size_t vocab = weights.config.vocab_size;
  double sum = 0.0;
  size_t positions = 0;
  std::vector<float> logits;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const size_t T = sequences[i].size();
    logits.resize(T * vocab);
    absl::Status s = ForwardFloat<float>(weights, sequences[i].data(), T, logits.data(),
                                         nullptr, nullptr);
    if (!s.ok()) return s;
    sum += MeanKlDivergence<float>(reference[i].data(), logits.data(), T, vocab, nullptr) *
           static_cast<double>(T);
    positions += T;
  }
  return positions == 0 ? 0.0 : sum / static_cast<double>(positions);
}

}  // namespace

absl::StatusOr<std::vector<TensorSensitivity>> ChooseMixedPrecision(
    const SourceModel& model, const ConvertOptions& options,
    const std::vector<std::vector<int32_t>>& sequences, double bits_per_weight,
    const SensitivityProgressFn& progress, size_t threads) {
  if (options.quant != QuantMode::kQ4) {
    return absl::InvalidArgumentError("a bits/weight budget needs --quant q4");
  }
  absl::StatusOr<LlamaWeights> base = LlamaWeightsOf(model);
  if (!base.ok()) return base.status();
  const size_t vocab = model.config.vocab_size;
  std::vector<std::vector<float>> reference(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    reference[i].resize(sequences[i].size() * vocab);
    absl::Status s = ForwardFloat<float>(*base, sequences[i].data(), sequences[i].size(),
                                         reference[i].data(), nullptr, nullptr);
    if (!s.ok()) return s;
  }

  ConvertOptions q4 = options;
  q4.keep_8bit.clear();
  ConvertOptions q8 = options;
  q8.quant = QuantMode::kQ8;
  ConvertOptions coarse = q4;
  coarse.group_size = options.group_size * 2;

  uint64_t parameters = 0, fixed_bytes = 0;
  std::vector<TensorSensitivity> rows;
  // Dequantized weights of each measured tensor, by precision (Precision order).
  std::vector<std::array<std::vector<float>, 5>> restored;
  // The 2-D tensors, one row each; measured below, on `threads` threads.
  std::vector<const SourceTensor*> matrices;
  for (const SourceTensor& t : model.tensors) {
    parameters += t.elements();
    if (t.shape.size() != 2) {
      fixed_bytes += t.elements() * sizeof(float);
      continue;
    }
    TensorSensitivity row;
    row.name = t.name;
    row.index = rows.size();
    row.forced_8bit = std::find(options.keep_8bit.begin(), options.keep_8bit.end(), t.name) !=
                      options.keep_8bit.end();
    rows.push_back(row);
    matrices.push_back(&t);
  }
  restored.resize(rows.size());
  std::mutex progress_mutex;
  size_t done = 0, planned = 2 * rows.size();
  // Stores matrix `i` at `p`: its bytes, its KL alone, its weights. Calls for different
  // (i, p) touch different fields and may run at once.
  auto measure_one = [&](size_t i, Precision p) -> absl::Status {
    const SourceTensor& t = *matrices[i];
    TensorSensitivity* row = &rows[i];
    ConvertOptions three_bit;
    if (p == Precision::kQ3 || p == Precision::kQ3G64) {
      three_bit = q4;
      (p == Precision::kQ3 ? three_bit.q3 : three_bit.q3_g64) = {t.name};
    }
    const ConvertOptions& o = p == Precision::kQ8   ? q8
                              : p == Precision::kQ4 ? q4
                              : p == Precision::kQ4Coarse ? coarse
                                                          : three_bit;
    std::vector<float> weights;
    absl::StatusOr<KiteTensor> stored = ConvertTensor(t, o, &weights);
    if (!stored.ok()) return stored.status();
    LlamaWeights patched = *base;
    for (const float** slot : WeightSlots(patched, t.name)) *slot = weights.data();
    absl::StatusOr<double> kl = MeanKl(patched, sequences, reference);
    if (!kl.ok()) return kl.status();
    (p == Precision::kQ8      ? row->kl_q8
     : p == Precision::kQ4    ? row->kl_q4
     : p == Precision::kQ3    ? row->kl_q3
     : p == Precision::kQ3G64 ? row->kl_q3g64
                              : row->kl_coarse) = *kl;
    (p == Precision::kQ8      ? row->bytes_q8
     : p == Precision::kQ4    ? row->bytes_q4
     : p == Precision::kQ3    ? row->bytes_q3
     : p == Precision::kQ3G64 ? row->bytes_q3g64
                              : row->bytes_coarse) = StoredBytes(*stored);
    if (p == Precision::kQ4Coarse) row->coarse_group_size = stored->group_size;
    restored[i][static_cast<size_t>(p)] = std::move(weights);
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(t.name, ++done, planned);
    }
    return absl::OkStatus();
  };
  // Measures every matrix at each of `precisions`; the first failure in item order wins.
  auto measure_all = [&](std::initializer_list<Precision> precisions) -> absl::Status {
    const std::vector<Precision> ps(precisions);
    std::vector<absl::Status> status(rows.size() * ps.size());
    ForEachParallel(status.size(), ThreadsOrCpus(threads), [&](size_t item, size_t) {
      status[item] = measure_one(item / ps.size(), ps[item % ps.size()]);
    });
    for (const absl::Status& s : status) {
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };
  if (absl::Status s = measure_all({Precision::kQ4, Precision::kQ8}); !s.ok()) return s;
  const bool three_bit = options.bpw_q3 && !options.sparse_24;
  if (three_bit) {
    planned += rows.size();
    if (absl::Status s = measure_all({Precision::kQ3}); !s.ok()) return s;
  }

  const double budget = bits_per_weight * static_cast<double>(parameters) / 8.0;
  auto total_bytes = [&](Precision start) {
    uint64_t bytes = fixed_bytes;
    for (const TensorSensitivity& r : rows) bytes += r.bytes(r.forced_8bit ? Precision::kQ8 : start);
    return bytes;
  };
  Precision start = Precision::kQ4;
  // Where the 3-bit choices start: groups of 32, or of 64 when those do not fit.
  Precision three_bit_start = Precision::kQ3;
  bool four_bit_fits = true;  // today's plans (4-bit or coarse start) fit the budget
  if (static_cast<double>(total_bytes(Precision::kQ4)) > budget) {
    // Too big at 4 bits: measure the coarse groups too and start from them.
    const bool can_coarsen = options.group_size * 2 <= 128 && !options.sparse_24;
    uint64_t smallest = total_bytes(Precision::kQ4);
    if (can_coarsen) {
      planned += rows.size();
      if (absl::Status s = measure_all({Precision::kQ4Coarse}); !s.ok()) return s;
      smallest = total_bytes(Precision::kQ4Coarse);
    }
    if (static_cast<double>(smallest) > budget) {
      four_bit_fits = false;
      uint64_t smallest_q3 = three_bit ? total_bytes(Precision::kQ3) : smallest;
      if (three_bit && static_cast<double>(smallest_q3) > budget) {
        // Even all 3-bit is too big: measure 3-bit groups of 64 and start from them.
        planned += rows.size();
        if (absl::Status s = measure_all({Precision::kQ3G64}); !s.ok()) return s;
        three_bit_start = Precision::kQ3G64;
        smallest_q3 = total_bytes(Precision::kQ3G64);
      }
      if (!three_bit || static_cast<double>(smallest_q3) > budget) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "--bpw %g is below what the %s layouts need: %.3f bits/weight with every "
            "tensor at %s%s%s",
            bits_per_weight, three_bit ? "3-bit" : "4-bit",
            8.0 * static_cast<double>(three_bit ? smallest_q3 : smallest) /
                static_cast<double>(parameters),
            three_bit ? "3 bits in groups of 64" : "4 bits",
            !three_bit && can_coarsen ? absl::StrCat(" in groups of ", options.group_size * 2)
                                      : "",
            options.keep_8bit.empty() ? "" : " except --keep-8bit"));
      }
    }
    start = Precision::kQ4Coarse;
  }
  // Greedy upgrades in two orders: KL saved per extra byte, and KL saved. Isolated
  // sensitivities do not add up exactly, so both choices are measured together and the
  // better kept.
  auto greedy = [&](bool per_byte, Precision from) {
    std::vector<Precision> chosen(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      chosen[i] = rows[i].forced_8bit ? Precision::kQ8 : from;
    }
    uint64_t total = total_bytes(from);
    for (;;) {
      size_t best = rows.size();
      Precision best_to = Precision::kQ4;
      double best_score = 0.0;
      for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].forced_8bit) continue;
        for (Precision to : {Precision::kQ3, Precision::kQ4, Precision::kQ8}) {
          const TensorSensitivity& r = rows[i];
          if (to <= chosen[i] || r.bytes(to) <= r.bytes(chosen[i])) continue;
          const uint64_t extra = r.bytes(to) - r.bytes(chosen[i]);
          const double saved = r.kl(chosen[i]) - r.kl(to);
          if (!(saved > 0.0) || static_cast<double>(total + extra) > budget) continue;
          const double score = per_byte ? saved / static_cast<double>(extra) : saved;
          if (best == rows.size() || score > best_score) {
            best = i;
            best_to = to;
            best_score = score;
          }
        }
      }
      if (best == rows.size()) break;
      total += rows[best].bytes(best_to) - rows[best].bytes(chosen[best]);
      chosen[best] = best_to;
    }
    return chosen;
  };
  auto measure = [&](const std::vector<Precision>& chosen) -> absl::StatusOr<double> {
    LlamaWeights patched = *base;
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::vector<float>& v = restored[rows[i].index][static_cast<size_t>(chosen[i])];
      for (const float** slot : WeightSlots(patched, rows[i].name)) *slot = v.data();
    }
    return MeanKl(patched, sequences, reference);
  };
  // The candidate choices (per byte, by gain) from each start, measured once each.
  std::vector<std::vector<Precision>> candidates;
  std::vector<double> kls;
  std::vector<Precision> starts;
  if (four_bit_fits) starts.push_back(start);
  if (three_bit) starts.push_back(three_bit_start);
  double kl_ratio = 0.0, kl_gain = 0.0, kl_ratio_q3 = 0.0, kl_gain_q3 = 0.0;
  for (Precision from : starts) {
    for (bool per_byte : {true, false}) {
      std::vector<Precision> c = greedy(per_byte, from);
      double kl = 0.0;
      const auto same = std::find(candidates.begin(), candidates.end(), c);
      if (same != candidates.end()) {
        kl = kls[static_cast<size_t>(same - candidates.begin())];
      } else {
        absl::StatusOr<double> measured = measure(c);
        if (!measured.ok()) return measured.status();
        kl = *measured;
      }
      (from == three_bit_start && three_bit ? (per_byte ? kl_ratio_q3 : kl_gain_q3)
                              : (per_byte ? kl_ratio : kl_gain)) = kl;
      candidates.push_back(std::move(c));
      kls.push_back(kl);
    }
  }
  // The lowest KL wins; ties keep the earlier (today's) choice.
  size_t winner = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (kls[i] < kls[winner]) winner = i;
  }
  const std::vector<Precision>& best = candidates[winner];
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].chosen = best[i];
    rows[i].kl_choice_per_byte = kl_ratio;
    rows[i].kl_choice_by_gain = kl_gain;
    rows[i].kl_choice_q3_per_byte = kl_ratio_q3;
    rows[i].kl_choice_q3_by_gain = kl_gain_q3;
  }
  return rows;
}

std::string FormatSensitivities(const std::vector<TensorSensitivity>& rows) {
  std::vector<const TensorSensitivity*> sorted;
  for (const TensorSensitivity& r : rows) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return a->kl_q4 - a->kl_q8 > b->kl_q4 - b->kl_q8;
  });
  const bool coarse = !rows.empty() && rows[0].coarse_group_size != 0;
  const bool q3 = !rows.empty() && rows[0].bytes_q3 != 0;
  size_t width = 6;
  for (const TensorSensitivity& r : rows) width = std::max(width, r.name.size());
  const int w = static_cast<int>(width);
  std::string out = absl::StrFormat("%-*s  %12s  %12s  %9s  %9s  ", w, "tensor", "KL q4 only",
                                    "KL q8 only", "bytes q4", "bytes q8");
  if (coarse) {
    absl::StrAppendFormat(&out, "%14s  %12s  ", "KL coarse only", "bytes coarse");
  }
  const bool q3g64 = !rows.empty() && rows[0].bytes_q3g64 != 0;
  if (q3) absl::StrAppendFormat(&out, "%12s  %9s  ", "KL q3 only", "bytes q3");
  if (q3g64) absl::StrAppendFormat(&out, "%14s  %11s  ", "KL q3g64 only", "bytes q3g64");
  out += "stored\n";
  for (const TensorSensitivity* r : sorted) {
    absl::StrAppendFormat(&out, "%-*s  %12.6f  %12.6f  %9d  %9d  ", w, r->name, r->kl_q4,
                          r->kl_q8, r->bytes_q4, r->bytes_q8);
    if (coarse) absl::StrAppendFormat(&out, "%14.6f  %12d  ", r->kl_coarse, r->bytes_coarse);
    if (q3) absl::StrAppendFormat(&out, "%12.6f  %9d  ", r->kl_q3, r->bytes_q3);
    if (q3g64) absl::StrAppendFormat(&out, "%14.6f  %11d  ", r->kl_q3g64, r->bytes_q3g64);
    if (r->forced_8bit) {
      out += "q8 (--keep-8bit)";
    } else if (r->chosen == Precision::kQ8) {
      out += "q8";
    } else if (r->chosen == Precision::kQ3) {
      out += "q3";
    } else if (r->chosen == Precision::kQ3G64) {
      out += "q3, groups of 64";
    } else if (r->chosen == Precision::kQ4Coarse) {
      absl::StrAppend(&out, "q4, groups of ", r->coarse_group_size);
    } else {
      out += "q4";
    }
    out += "\n";
  }
  if (!rows.empty() && !q3) {
    absl::StrAppendFormat(&out,
                          "combined KL on the calibration text: %.6f greedy by KL per byte, "
                          "%.6f greedy by KL; kept the lower\n",
                          rows[0].kl_choice_per_byte, rows[0].kl_choice_by_gain);
  } else if (!rows.empty()) {
    // A start that did not fit the budget reads 0 (not tried).
    absl::StrAppendFormat(&out,
                          "combined KL on the calibration text, greedy by KL per byte / by KL: "
                          "from 4 bits %.6f / %.6f, from 3 bits%s %.6f / %.6f (0: does not "
                          "fit); kept the lowest\n",
                          rows[0].kl_choice_per_byte, rows[0].kl_choice_by_gain,
                          q3g64 ? " in groups of 64" : "",
                          rows[0].kl_choice_q3_per_byte, rows[0].kl_choice_q3_by_gain);
  }
  return out;
}

}  // namespace kite::convert
