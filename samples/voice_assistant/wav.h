// kite-voice's audio buffers and WAV files: 16-bit PCM mono samples at a sample rate,
// read from and written to RIFF/WAVE files, and resampled for the recogniser (16 kHz).
// Host only (allocates, uses Abseil's Status). Pure functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kite::voice {

/// Mono 16-bit PCM audio: `samples` at `sample_rate` samples per second.
struct Pcm {
  int sample_rate = 16000;       ///< samples per second, > 0
  std::vector<int16_t> samples;  ///< signed 16-bit samples, one channel

  /// Duration in seconds (0 for no samples).
  double seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

/// Decodes the bytes of a WAV file: RIFF/WAVE with a "fmt " chunk of format 1 (PCM) or
/// WAVE_FORMAT_EXTENSIBLE carrying PCM, 16 bits per sample, 1 or 2 channels (two are
/// averaged into one), and a "data" chunk; other chunks are skipped. Anything else fails
/// with InvalidArgument naming `name` (the file, for messages) and what is wrong ("is 8-bit
/// PCM; kite-voice reads 16-bit PCM", "has no data chunk", "is truncated: ..."). A data chunk
/// longer than the file (as streaming writers leave it) is read up to the end of the file.
absl::StatusOr<Pcm> DecodeWav(std::string_view bytes, const std::string& name);

/// Encodes `pcm` as a canonical 44-byte-header WAV file (PCM, mono, 16-bit). Fails with
/// InvalidArgument when the data would not fit a RIFF size (4 GiB) or the rate is not
/// positive.
absl::StatusOr<std::string> EncodeWav(const Pcm& pcm);

/// Reads and decodes the WAV file at `path` (a regular file, opened without blocking on
/// FIFOs or devices). Errors name the quoted path.
absl::StatusOr<Pcm> ReadWavFile(const std::string& path);

/// Writes `pcm` to `path` as EncodeWav does, through a temporary file beside it that is
/// renamed over `path` when complete (only a regular file, or nothing, is replaced).
absl::Status WriteWavFile(const std::string& path, const Pcm& pcm);

/// `in` at `rate` samples per second (> 0): band-limited (windowed-sinc) interpolation,
/// so that downsampling does not fold the high frequencies into the band the recogniser
/// hears. Returns the samples unchanged when the rates match.
Pcm Resample(const Pcm& in, int rate);

}  // namespace kite::voice
