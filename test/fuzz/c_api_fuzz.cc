// Fuzz target for the C API (sdk/include/kite/kite.h): the input is a program of up to 64
// calls with arguments, run against the 4-bit stories260K model (opened once) and up to
// two sessions: create (heap, caller arena of the right or a wrong size, caller storage;
// options in and out of range, wrong struct_size), destroy, reset, feed (ids in and out of
// range), logits, generate (random prompt and sampling options, NaN and infinities
// included; a callback that continues, stops or cancels), cancel, tokenize, detokenize,
// tokenize_special, chat_format, chat_tokenize, memory_required, get_info, status strings.
// Null output pointers and zero capacities come up too; handles are always valid or null.
//
// Checks beyond "no crash": every failure says why (kite_last_error, or the session's
// last error for session calls); a session's position never exceeds its context;
// successful calls return ids in range, vocab_size logits, and texts that fit.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/fuzz/fuzz_check.h"

namespace {

constexpr size_t kMaxCalls = 64;
constexpr size_t kSlots = 2;

kite_model* g_model = nullptr;
kite_model_info g_info;

// Reads the program; past the end every read yields zeros.
class Program {
 public:
  Program(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  uint8_t U8() { return p_ < end_ ? *p_++ : 0; }
  uint32_t U16() { return U8() | static_cast<uint32_t>(U8()) << 8; }
  uint32_t U32() { return U16() | U16() << 16; }
  float Float() {
    static const float kValues[] = {0.0f, 0.5f, 1.0f, 0.9f, 100.0f, 100.5f, -1.0f, 1e-30f,
                                    std::numeric_limits<float>::quiet_NaN(),
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(), 2.0f};
    const uint8_t pick = U8();
    if (pick < 12) return kValues[pick];
    uint32_t bits = U32();
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
  }
  /// A string of up to `max` bytes (length byte first), NULs removed.
  std::string Text(size_t max) {
    const size_t len = U8() % (max + 1);
    std::string s;
    for (size_t i = 0; i < len && !done(); ++i) {
      const char c = static_cast<char>(U8());
      if (c != '\0') s.push_back(c);
    }
    return s;
  }
  /// Token ids: mostly in the vocabulary, sometimes just outside it or negative.
  std::vector<int32_t> Ids(size_t max) {
    std::vector<int32_t> ids(U8() % (max + 1));
    for (int32_t& id : ids) {
      const uint32_t raw = U16();
      id = (raw & 0x8000) ? -static_cast<int32_t>(raw & 7) - 1
                          : static_cast<int32_t>(raw % (g_info.vocab_size + 4));
    }
    return ids;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

struct AlignedBuffer {
  void* p = nullptr;
  void Reset(size_t bytes) {
    Free();
    if (bytes > 0) p = ::operator new(bytes, std::align_val_t(64));
  }
  void Free() {
    if (p != nullptr) ::operator delete(p, std::align_val_t(64));
    p = nullptr;
  }
};

struct Slot {
  kite_session* session = nullptr;
  uint32_t max_context = 0;
  AlignedBuffer arena, storage;
  void Destroy() {
    kite_session_destroy(session);
    session = nullptr;
    arena.Free();
    storage.Free();
  }
};

void ExpectGlobalMessage(kite_status st) {
  if (st != KITE_OK) FUZZ_CHECK(kite_last_error()[0] != '\0');
}

void ExpectSessionMessage(const kite_session* s, kite_status st) {
  if (st != KITE_OK) FUZZ_CHECK(kite_session_last_error(s)[0] != '\0');
}

void CheckIds(const int32_t* ids, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(ids[i] >= 0 && static_cast<uint32_t>(ids[i]) < g_info.vocab_size);
  }
}

kite_session_options SessionOptions(Program* in) {
  kite_session_options o;
  kite_session_options_init(&o);
  const uint8_t how = in->U8();
  o.max_context = (how & 1) ? in->U16() % 600 : 8 + in->U8() % 64;  // 0 and > 512 fail
  o.threads = (how & 2) ? in->U8() % 3 : 1;                          // 0 fails
  o.prefill_chunk = (how & 4) ? in->U16() % 1100 : 1 + in->U8() % 16;
  if (how & 8) o.struct_size = in->U8();  // a wrong struct_size must be refused
  return o;
}

void Create(Program* in, Slot* slot) {
  slot->Destroy();
  kite_session_options o = SessionOptions(in);
  const uint8_t mode = in->U8() % 4;
  size_t need = 0;
  kite_status st = kite_session_memory_required(g_model, &o, &need);
  ExpectGlobalMessage(st);
  if (st != KITE_OK) need = 4096;
  switch (mode) {
    case 0:  // the session allocates
      st = kite_session_create(g_model, &o, nullptr, 0, &slot->session);
      break;
    case 1:  // a caller arena of the right size, or a byte short
    case 2: {
      const size_t bytes = mode == 1 ? need : need - 1;
      slot->arena.Reset(bytes);
      st = kite_session_create(g_model, &o, slot->arena.p, bytes, &slot->session);
      break;
    }
    case 3: {  // caller storage and arena: no heap
      slot->arena.Reset(need);
      const size_t storage = kite_session_storage_required();
      slot->storage.Reset(storage);
      st = kite_session_create_in(g_model, &o, slot->arena.p, need, slot->storage.p,
                                  (in->U8() & 1) ? storage : storage / 2, &slot->session);
      break;
    }
  }
  ExpectGlobalMessage(st);
  if (st != KITE_OK) {
    FUZZ_CHECK(slot->session == nullptr);
    slot->Destroy();
    return;
  }
  FUZZ_CHECK(slot->session != nullptr && kite_session_position(slot->session) == 0);
  slot->max_context = o.max_context;
}

struct CallbackPlan {
  kite_session* session;
  uint8_t action;  // 0 continue, 1 stop at `at`, 2 cancel at `at`
  uint8_t at;
  uint32_t calls = 0;
};

int OnToken(const char* piece, int32_t token, void* user) {
  auto* plan = static_cast<CallbackPlan*>(user);
  FUZZ_CHECK(piece != nullptr);
  FUZZ_CHECK(token >= 0 && static_cast<uint32_t>(token) < g_info.vocab_size);
  ++plan->calls;
  if (plan->calls == plan->at) {
    if (plan->action == 1) return KITE_STOP;
    if (plan->action == 2) kite_session_cancel(plan->session);
  }
  return KITE_CONTINUE;
}

void Generate(Program* in, Slot* slot) {
  const std::string prompt = in->Text(24);
  kite_generate_options o;
  kite_generate_options_init(&o);
  const uint8_t how = in->U8();
  o.max_tokens = (how & 1) ? static_cast<int32_t>(in->U8()) - 8 : in->U8() % 10;
  if (how & 2) o.temperature = in->Float();
  if (how & 4) o.top_k = static_cast<int32_t>(in->U16()) - 100;
  if (how & 8) o.top_p = in->Float();
  if (how & 16) o.seed = in->U32();
  o.add_bos = in->U8() & 1;
  if (how & 32) o.struct_size = in->U8();
  CallbackPlan plan{slot->session, static_cast<uint8_t>(in->U8() % 3), in->U8()};
  kite_generate_stats stats;
  std::memset(&stats, 0, sizeof(stats));
  stats.struct_size = (how & 64) ? in->U8() : sizeof(stats);
  const bool with_callback = (how & 128) == 0;
  const bool default_options = (in->U8() & 7) == 0;
  const kite_status st =
      kite_generate(slot->session, prompt.c_str(), default_options ? nullptr : &o,
                    with_callback ? OnToken : nullptr, &plan, (in->U8() & 1) ? &stats : nullptr);
  ExpectSessionMessage(slot->session, st);
  FUZZ_CHECK(kite_session_position(slot->session) <= slot->max_context);
  if (with_callback && (st == KITE_OK || st == KITE_ERR_CANCELLED)) {
    const int32_t max_tokens = default_options ? 256 : o.max_tokens;
    FUZZ_CHECK(plan.calls <= static_cast<uint32_t>(max_tokens < 0 ? 0 : max_tokens));
  }
}

void Run(Program* in, Slot* slots) {
  for (size_t call = 0; call < kMaxCalls && !in->done(); ++call) {
    const uint8_t op = in->U8();
    Slot* slot = &slots[(op >> 5) % kSlots];
    kite_session* s = slot->session;
    switch (op % 18) {
      case 0:
        Create(in, slot);
        break;
      case 1:
        slot->Destroy();
        break;
      case 2: {
        const kite_status st = kite_session_reset(s);
        if (s == nullptr) {
          FUZZ_CHECK(st == KITE_ERR_INVALID_ARGUMENT);
        } else {
          FUZZ_CHECK(st == KITE_OK && kite_session_position(s) == 0);
        }
        break;
      }
      case 3: {
        if (s == nullptr) break;
        const std::vector<int32_t> ids = in->Ids(12);
        const uint32_t before = kite_session_position(s);
        const kite_status st = kite_session_feed(s, ids.empty() && (op & 16) ? nullptr : ids.data(), ids.size());
        ExpectSessionMessage(s, st);
        if (st == KITE_OK) {
          FUZZ_CHECK(kite_session_position(s) == before + ids.size());
        } else {
          FUZZ_CHECK(kite_session_position(s) == before);  // a failed feed changes nothing
        }
        break;
      }
      case 4: {
        if (s == nullptr) break;
        const float* logits = nullptr;
        size_t n = 0;
        const kite_status st = kite_session_logits(s, &logits, &n);
        ExpectSessionMessage(s, st);
        if (st == KITE_OK) {
          FUZZ_CHECK(logits != nullptr && n == g_info.vocab_size);
          float sum = 0;  // touch every value (ASan checks the range)
          for (size_t i = 0; i < n; ++i) sum += logits[i];
          (void)sum;
        } else {
          FUZZ_CHECK(logits == nullptr && n == 0);
        }
        break;
      }
      case 5:
        if (s != nullptr) Generate(in, slot);
        break;
      case 6:
        kite_session_cancel(s);  // NULL is ignored
        break;
      case 7:
      case 8: {
        const std::string text = in->Text(40);
        std::vector<int32_t> ids(in->U8() % 64);
        size_t n = 0;
        const int32_t bos = in->U8() & 1;
        const kite_status st =
            op % 18 == 7
                ? kite_tokenize(g_model, text.data(), text.size(), bos, ids.data(), ids.size(), &n)
                : kite_tokenize_special(g_model, text.data(), text.size(), bos, ids.data(),
                                        ids.size(), &n);
        ExpectGlobalMessage(st);
        if (st == KITE_OK) {
          FUZZ_CHECK(n <= ids.size());
          CheckIds(ids.data(), n);
        }
        break;
      }
      case 9: {
        const std::vector<int32_t> ids = in->Ids(16);
        std::vector<char> text(in->U8() % 96);
        size_t len = 0;
        const kite_status st = kite_detokenize(g_model, ids.data(), ids.size(),
                                               text.empty() ? nullptr : text.data(), text.size(), &len);
        ExpectGlobalMessage(st);
        if (st == KITE_OK) FUZZ_CHECK(len < text.size() && text[len] == '\0');
        break;
      }
      case 10:
      case 11: {
        std::string strings[6];
        kite_chat_message messages[3];
        const size_t n = in->U8() % 4;
        for (size_t i = 0; i < n; ++i) {
          strings[2 * i] = in->Text(10);
          strings[2 * i + 1] = in->Text(30);
          messages[i] = {strings[2 * i].c_str(), strings[2 * i + 1].c_str()};
        }
        const int32_t gen = in->U8() & 1;
        const size_t capacity = in->U8() % 200;
        size_t len = 0;
        kite_status st;
        if (op % 18 == 10) {
          std::vector<char> buf(capacity);
          st = kite_chat_format(g_model, messages, n, gen, capacity ? buf.data() : nullptr,
                                capacity, &len);
          if (st == KITE_OK) FUZZ_CHECK(len < capacity && buf[len] == '\0');
        } else {
          std::vector<int32_t> ids(capacity);
          st = kite_chat_tokenize(g_model, messages, n, gen, in->U8() & 1,
                                  capacity ? ids.data() : nullptr, capacity, &len);
          if (st == KITE_OK) CheckIds(ids.data(), len);
        }
        ExpectGlobalMessage(st);
        break;
      }
      case 12: {
        kite_session_options o = SessionOptions(in);
        o.threads = in->U16();  // sizing only: no thread is started
        size_t bytes = 0;
        ExpectGlobalMessage(kite_session_memory_required(g_model, &o, &bytes));
        break;
      }
      case 13: {
        kite_model_info info;
        std::memset(&info, 0, sizeof(info));
        info.struct_size = (op & 16) ? in->U8() : sizeof(info);
        ExpectGlobalMessage(kite_model_get_info(g_model, &info));
        break;
      }
      case 14:
        FUZZ_CHECK(kite_status_string(static_cast<kite_status>(in->U8() - 4)) != nullptr);
        break;
      case 15:
        if (s != nullptr) FUZZ_CHECK(kite_session_position(s) <= slot->max_context);
        FUZZ_CHECK(kite_session_last_error(s) != nullptr && kite_last_error() != nullptr);
        break;
      case 16: {  // null outputs and handles are refused with a message
        size_t n = 0;
        ExpectGlobalMessage(kite_tokenize(g_model, "x", 1, 1, nullptr, 4, &n));
        ExpectGlobalMessage(kite_session_create(g_model, nullptr, nullptr, 0, nullptr));
        ExpectGlobalMessage(kite_session_feed(nullptr, nullptr, 0));
        ExpectGlobalMessage(kite_generate(nullptr, "x", nullptr, nullptr, nullptr, nullptr));
        break;
      }
      case 17: {  // the running generation's cancel, then a generation in the other slot
        kite_session_cancel(s);
        Slot* other = &slots[((op >> 5) + 1) % kSlots];
        if (other->session != nullptr) Generate(in, other);
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string path = std::string(KITE_TEST_MODELS_DIR) + "/stories260K-q4.kite";
  if (kite_model_open_file(path.c_str(), nullptr, &g_model) != KITE_OK) {
    std::fprintf(stderr, "c_api_fuzz: cannot open %s: %s (build and test the release preset "
                 "first: it converts the test models)\n", path.c_str(), kite_last_error());
    std::abort();
  }
  std::memset(&g_info, 0, sizeof(g_info));
  g_info.struct_size = sizeof(g_info);
  FUZZ_CHECK(kite_model_get_info(g_model, &g_info) == KITE_OK);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Program program(data, size);
  Slot slots[kSlots];
  Run(&program, slots);
  for (Slot& slot : slots) slot.Destroy();
  return 0;
}
