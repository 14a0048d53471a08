#include "samples/voice_assistant/wav.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "tools/common/input_file.h"
#include "tools/common/output_file.h"

namespace kite::voice {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
constexpr size_t kHeaderBytes = 44;  // RIFF header + 16-byte fmt chunk + data header

uint32_t Le32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24;
}

uint16_t Le16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               static_cast<uint8_t>(b[at + 1]) << 8);
}

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}

std::string FormatName(uint16_t format) {
  switch (format) {
    case 3: return "32-bit float";
    case 6: return "A-law";
    case 7: return "mu-law";
    case 0x11: return "IMA ADPCM";
    case 0x55: return "MP3";
    default: return absl::StrCat("format ", format);
  }
}

}  // namespace

absl::StatusOr<Pcm> DecodeWav(std::string_view bytes, const std::string& name) {
  auto bad = [&name](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(name, " ", what));
  };
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE") {
    return bad("is not a WAV file (no RIFF/WAVE header)");
  }
  bool have_fmt = false;
  uint16_t channels = 0;
  uint32_t rate = 0;
  size_t at = 12;
  while (at + 8 <= bytes.size()) {
    const std::string_view id = bytes.substr(at, 4);
    const uint32_t size = Le32(bytes, at + 4);
    const size_t body = at + 8;
    const size_t available = bytes.size() - body;
    if (id == "fmt ") {
      if (size < 16 || size > available) {
        return bad(size < 16 ? absl::StrCat("has a fmt chunk of ", size, " bytes (PCM needs 16)")
                             : absl::StrCat("is truncated: its fmt chunk is ", size,
                                            " bytes, the file has ", available, " left"));
      }
      uint16_t format = Le16(bytes, body);
      channels = Le16(bytes, body + 2);
      rate = Le32(bytes, body + 4);
      const uint16_t bits = Le16(bytes, body + 14);
      if (format == kFormatExtensible && size >= 40) format = Le16(bytes, body + 24);
      if (format != kFormatPcm) {
        return bad(absl::StrCat("is ", FormatName(format), "; kite-voice reads 16-bit PCM"));
      }
      if (bits != 16) {
        return bad(absl::StrCat("is ", bits, "-bit PCM; kite-voice reads 16-bit PCM"));
      }
      if (channels != 1 && channels != 2) {
        return bad(absl::StrCat("has ", channels, " channels; kite-voice reads mono or stereo"));
      }
      if (rate < 1000 || rate > 384000) {
        return bad(absl::StrCat("has a sample rate of ", rate, " Hz (not in 1000..384000)"));
      }
      have_fmt = true;
    } else if (id == "data") {
      if (!have_fmt) return bad("has its data chunk before its fmt chunk");
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: read to the end of the file.
      const size_t n = std::min<size_t>(size == 0 ? available : size, available);
      const size_t frame = 2u * channels;
      Pcm pcm;
      pcm.sample_rate = static_cast<int>(rate);
      pcm.samples.resize(n / frame);
      for (size_t i = 0; i < pcm.samples.size(); ++i) {
        const size_t p = body + i * frame;
        if (channels == 1) {
          pcm.samples[i] = static_cast<int16_t>(Le16(bytes, p));
        } else {
          const int sum = static_cast<int16_t>(Le16(bytes, p)) +
                          static_cast<int16_t>(Le16(bytes, p + 2));
          pcm.samples[i] = static_cast<int16_t>(sum / 2);
        }
      }
      return pcm;
    }
    // Chunks are padded to an even size.
    const size_t next = body + static_cast<size_t>(size) + (size & 1u);
    if (next <= at) break;
    at = next;
  }
  return bad(have_fmt ? "has no data chunk" : "has no fmt chunk");
}

absl::StatusOr<std::string> EncodeWav(const Pcm& pcm) {
  if (pcm.sample_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write a WAV file at ", pcm.sample_rate, " Hz"));
  }
  const uint64_t data = static_cast<uint64_t>(pcm.samples.size()) * 2;
  if (data + kHeaderBytes - 8 > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write ", pcm.samples.size(), " samples to one WAV file (over 4 GiB)"));
  }
  std::string out;
  out.reserve(kHeaderBytes + data);
  out += "RIFF";
  Put32(&out, static_cast<uint32_t>(data + kHeaderBytes - 8));
  out += "WAVEfmt ";
  Put32(&out, 16);
  Put16(&out, kFormatPcm);
  Put16(&out, 1);  // mono
  Put32(&out, static_cast<uint32_t>(pcm.sample_rate));
  Put32(&out, static_cast<uint32_t>(pcm.sample_rate) * 2);  // bytes per second
  Put16(&out, 2);                                           // bytes per frame
  Put16(&out, 16);
  out += "data";
  Put32(&out, static_cast<uint32_t>(data));
  for (int16_t s : pcm.samples) Put16(&out, static_cast<uint16_t>(s));
  return out;
}

absl::StatusOr<Pcm> ReadWavFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = tools::ReadInputFile(path);
  if (!bytes.ok()) return bytes.status();
  return DecodeWav(*bytes, "'" + path + "'");
}

absl::Status WriteWavFile(const std::string& path, const Pcm& pcm) {
  absl::StatusOr<std::string> bytes = EncodeWav(pcm);
  if (!bytes.ok()) return bytes.status();
  tools::PendingOutputFile out(path);
  absl::Status s = out.Open();
  if (!s.ok()) return s;
  out.Write(bytes->data(), bytes->size());
  return out.Commit();
}

Pcm Resample(const Pcm& in, int rate) {
  Pcm out;
  out.sample_rate = rate;
  if (in.sample_rate == rate || in.samples.empty()) {
    out.samples = in.samples;
    return out;
  }
  // Band-limited interpolation: a Hann-windowed sinc low-pass at 95% of the lower rate's
  // Nyquist frequency, evaluated at each output sample's position in the input.
  const double step = static_cast<double>(in.sample_rate) / rate;  // input samples per output
  const double cutoff = 0.95 * 0.5 * std::min(1.0, 1.0 / step);  // cycles per input sample
  const int half = static_cast<int>(std::ceil(8.0 / (2.0 * cutoff)));  // 8 zero crossings
  const double pi = 3.14159265358979323846;
  const size_t n = static_cast<size_t>(std::floor((in.samples.size() - 1) / step)) + 1;
  out.samples.resize(n);
  const long last = static_cast<long>(in.samples.size()) - 1;
  for (size_t i = 0; i < n; ++i) {
    const double x = i * step;
    const long center = static_cast<long>(std::floor(x));
    double sum = 0, weight = 0;
    for (long j = std::max(0L, center - half + 1); j <= std::min(last, center + half); ++j) {
      const double d = x - j;
      const double sinc = d == 0 ? 1.0 : std::sin(2 * pi * cutoff * d) / (pi * d * 2 * cutoff);
      const double w = sinc * (0.5 + 0.5 * std::cos(pi * d / (half + 1)));
      sum += w * in.samples[j];
      weight += w;
    }
    const double v = std::lround(weight != 0 ? sum / weight : 0.0);
    out.samples[i] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
  }
  return out;
}

}  // namespace kite::voice
