// The JNI half of the Java binding (package dev.kite): one native method per C API call
// the Java classes use, declared in src/dev/kite/Native.java. A client of kite.h only, like
// an app. The Java side owns every policy (closed objects, reference counts, exceptions);
// this file converts arguments, calls kite.h and returns the status, so that no failure
// path here has to build a Java exception. Strings cross as UTF-8 byte arrays (the Java
// side encodes and decodes them), never as modified UTF-8.
#include <jni.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kite/kite.h"

namespace {

// Method Sink.piece(int, byte[]) -> boolean, looked up once when the library loads
// (method IDs stay valid while the class is loaded, on every thread).
jmethodID g_sink_piece = nullptr;

kite_model* ModelOf(jlong h) { return reinterpret_cast<kite_model*>(static_cast<intptr_t>(h)); }
kite_session* SessionOf(jlong h) {
  return reinterpret_cast<kite_session*>(static_cast<intptr_t>(h));
}
jlong HandleOf(void* p) { return static_cast<jlong>(reinterpret_cast<intptr_t>(p)); }

// A new byte[] holding `n` bytes at `data`, or null with an OutOfMemoryError pending.
jbyteArray NewBytes(JNIEnv* env, const char* data, size_t n) {
  jbyteArray a = env->NewByteArray(static_cast<jsize>(n));
  if (a == nullptr) return nullptr;
  env->SetByteArrayRegion(a, 0, static_cast<jsize>(n), reinterpret_cast<const jbyte*>(data));
  return a;
}

jbyteArray NewBytes(JNIEnv* env, const char* text) {
  return NewBytes(env, text, std::strlen(text));
}

// Copies a Java byte[] (already NUL-terminated by the Java side when it is a C string).
bool CopyBytes(JNIEnv* env, jbyteArray a, std::vector<char>* out) {
  const jsize n = env->GetArrayLength(a);
  out->resize(static_cast<size_t>(n));
  env->GetByteArrayRegion(a, 0, n, reinterpret_cast<jbyte*>(out->data()));
  return !env->ExceptionCheck();
}

bool CopyInts(JNIEnv* env, jintArray a, std::vector<int32_t>* out) {
  const jsize n = env->GetArrayLength(a);
  out->resize(static_cast<size_t>(n));
  static_assert(sizeof(jint) == sizeof(int32_t), "jint is int32_t");
  env->GetIntArrayRegion(a, 0, n, reinterpret_cast<jint*>(out->data()));
  return !env->ExceptionCheck();
}

// What the token callback needs during one kite_generate call. Lives on the generating
// thread's stack; `env` is that thread's (the callback runs on the caller's thread).
struct GenerateCall {
  JNIEnv* env;
  jobject sink;
  // Set once a Java exception is pending (the sink catches the callback's own exceptions,
  // so this is an allocation failure or the like): no further Java calls are made and
  // generation stops; the exception reaches Java when the native method returns.
  bool failed;
};

int OnToken(const char* piece, int32_t token, void* user) {
  auto* call = static_cast<GenerateCall*>(user);
  if (call->failed) return KITE_STOP;
  JNIEnv* env = call->env;
  jbyteArray bytes = NewBytes(env, piece);
  if (bytes == nullptr) {
    call->failed = true;
    return KITE_STOP;
  }
  const jboolean go_on = env->CallBooleanMethod(call->sink, g_sink_piece, token, bytes);
  env->DeleteLocalRef(bytes);  // one per token: a long generation must not pile them up
  if (env->ExceptionCheck()) {
    call->failed = true;
    return KITE_STOP;
  }
  return go_on ? KITE_CONTINUE : KITE_STOP;
}

}  // namespace

extern "C" {

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  jclass sink = env->FindClass("dev/kite/Sink");
  if (sink == nullptr) return JNI_ERR;  // NoClassDefFoundError pending
  g_sink_piece = env->GetMethodID(sink, "piece", "(I[B)Z");
  env->DeleteLocalRef(sink);
  if (g_sink_piece == nullptr) return JNI_ERR;
  return JNI_VERSION_1_6;
}

JNIEXPORT jbyteArray JNICALL Java_dev_kite_Native_version(JNIEnv* env, jclass) {
  return NewBytes(env, kite_version());
}

JNIEXPORT jbyteArray JNICALL Java_dev_kite_Native_lastError(JNIEnv* env, jclass) {
  return NewBytes(env, kite_last_error());
}

JNIEXPORT jbyteArray JNICALL Java_dev_kite_Native_sessionLastError(JNIEnv* env, jclass,
                                                                  jlong session) {
  return NewBytes(env, kite_session_last_error(SessionOf(session)));
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_modelOpen(JNIEnv* env, jclass, jbyteArray path,
                                                      jboolean verify_checksums,
                                                      jbyteArray max_isa, jboolean huge_pages,
                                                      jlongArray out) {
  std::vector<char> path_c, isa_c;
  if (!CopyBytes(env, path, &path_c)) return KITE_ERR_INTERNAL;
  if (max_isa != nullptr && !CopyBytes(env, max_isa, &isa_c)) return KITE_ERR_INTERNAL;
  kite_model_options o;
  kite_model_options_init(&o);
  o.verify_checksums = verify_checksums ? 1 : 0;
  o.max_isa = max_isa != nullptr ? isa_c.data() : nullptr;
  o.huge_pages = huge_pages ? 1 : 0;
  kite_model* model = nullptr;
  const kite_status s = kite_model_open_file(path_c.data(), &o, &model);
  const jlong h = HandleOf(model);
  env->SetLongArrayRegion(out, 0, 1, &h);
  return s;
}

JNIEXPORT void JNICALL Java_dev_kite_Native_modelClose(JNIEnv*, jclass, jlong model) {
  kite_model_close(ModelOf(model));
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_modelInfo(JNIEnv* env, jclass, jlong model,
                                                      jlongArray out) {
  kite_model_info info = {};
  info.struct_size = sizeof info;
  const kite_status s = kite_model_get_info(ModelOf(model), &info);
  if (s != KITE_OK) return s;
  // The order Model.Info reads them in.
  const jlong v[] = {info.dim,        info.hidden_dim, info.n_layers,   info.n_heads,
                     info.n_kv_heads, info.head_dim,   info.vocab_size, info.max_seq_len,
                     info.bos_id,     info.eos_id,     static_cast<jlong>(info.file_bytes)};
  env->SetLongArrayRegion(out, 0, sizeof v / sizeof v[0], v);
  return KITE_OK;
}

JNIEXPORT jintArray JNICALL Java_dev_kite_Native_tokenize(JNIEnv* env, jclass, jlong model,
                                                         jbyteArray text, jboolean add_bos,
                                                         jintArray status) {
  std::vector<char> text_c;
  if (!CopyBytes(env, text, &text_c)) return nullptr;
  std::vector<int32_t> ids(text_c.size() + 2);  // kite_tokenize's working space
  size_t n = 0;
  const jint s = kite_tokenize(ModelOf(model), text_c.data(), text_c.size(), add_bos ? 1 : 0,
                               ids.data(), ids.size(), &n);
  env->SetIntArrayRegion(status, 0, 1, &s);
  if (s != KITE_OK) return nullptr;  // the Java side reads kite_last_error() on this thread
  jintArray out = env->NewIntArray(static_cast<jsize>(n));
  if (out == nullptr) return nullptr;
  env->SetIntArrayRegion(out, 0, static_cast<jsize>(n), reinterpret_cast<const jint*>(ids.data()));
  return out;
}

JNIEXPORT jbyteArray JNICALL Java_dev_kite_Native_detokenize(JNIEnv* env, jclass, jlong model,
                                                            jintArray tokens,
                                                            jintArray status) {
  std::vector<int32_t> ids;
  if (!CopyInts(env, tokens, &ids)) return nullptr;
  // The text's length is not known ahead: grow the buffer while it is too small.
  std::vector<char> text(ids.size() * 16 + 16);
  for (;;) {
    size_t len = 0;
    const jint s =
        kite_detokenize(ModelOf(model), ids.data(), ids.size(), text.data(), text.size(), &len);
    if (s == KITE_OK) return NewBytes(env, text.data(), len);
    if (s != KITE_ERR_OUT_OF_MEMORY || text.size() >= (size_t{1} << 30)) {
      env->SetIntArrayRegion(status, 0, 1, &s);
      return nullptr;
    }
    text.resize(text.size() * 2);
  }
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_sessionCreate(JNIEnv* env, jclass, jlong model,
                                                          jint max_context, jint threads,
                                                          jint prefill_chunk, jint kv_type,
                                                          jint backend, jlongArray out) {
  kite_session_options o;
  kite_session_options_init(&o);
  // The Java side rejects negative values, which would wrap here.
  o.max_context = static_cast<uint32_t>(max_context);
  o.threads = static_cast<uint32_t>(threads);
  o.prefill_chunk = static_cast<uint32_t>(prefill_chunk);
  o.kv_type = static_cast<uint32_t>(kv_type);
  o.backend = static_cast<uint32_t>(backend);
  kite_session* session = nullptr;
  const kite_status s = kite_session_create(ModelOf(model), &o, nullptr, 0, &session);
  const jlong h = HandleOf(session);
  env->SetLongArrayRegion(out, 0, 1, &h);
  return s;
}

JNIEXPORT void JNICALL Java_dev_kite_Native_sessionDestroy(JNIEnv*, jclass, jlong session) {
  kite_session_destroy(SessionOf(session));
}

JNIEXPORT void JNICALL Java_dev_kite_Native_sessionCancel(JNIEnv*, jclass, jlong session) {
  kite_session_cancel(SessionOf(session));
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_sessionReset(JNIEnv*, jclass, jlong session) {
  return kite_session_reset(SessionOf(session));
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_sessionPosition(JNIEnv*, jclass, jlong session) {
  return static_cast<jint>(kite_session_position(SessionOf(session)));
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_sessionFeed(JNIEnv* env, jclass, jlong session,
                                                        jintArray tokens) {
  std::vector<int32_t> ids;
  if (!CopyInts(env, tokens, &ids)) return KITE_ERR_INTERNAL;
  return kite_session_feed(SessionOf(session), ids.data(), ids.size());
}

JNIEXPORT jint JNICALL Java_dev_kite_Native_generate(
    JNIEnv* env, jclass, jlong session, jbyteArray prompt, jint max_tokens, jfloat temperature,
    jint top_k, jfloat top_p, jlong seed, jboolean add_bos, jfloat min_p,
    jfloat repetition_penalty, jfloat frequency_penalty, jfloat presence_penalty,
    jint penalty_last_n, jobject sink, jdoubleArray stats_out) {
  std::vector<char> prompt_c;
  if (!CopyBytes(env, prompt, &prompt_c)) return KITE_ERR_INTERNAL;
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = max_tokens;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.seed = static_cast<uint64_t>(seed);
  o.add_bos = add_bos ? 1 : 0;
  o.min_p = min_p;
  o.repetition_penalty = repetition_penalty;
  o.frequency_penalty = frequency_penalty;
  o.presence_penalty = presence_penalty;
  o.penalty_last_n = penalty_last_n;
  // Each token's own bytes: the Java side decodes UTF-8 (Utf8Decoder).
  o.raw_pieces = 1;
  kite_generate_stats stats = {};
  stats.struct_size = sizeof stats;
  GenerateCall call{env, sink, false};
  const kite_status s = kite_generate(SessionOf(session), prompt_c.data(), &o, OnToken, &call,
                                      &stats);
  if (call.failed) return s;  // a Java exception is pending: it is what the caller sees
  const jdouble v[] = {static_cast<double>(stats.prompt_tokens),
                       static_cast<double>(stats.generated_tokens),
                       static_cast<double>(stats.stop_reason),
                       stats.prefill_ms,
                       stats.decode_ms,
                       stats.first_token_ms};
  env->SetDoubleArrayRegion(stats_out, 0, sizeof v / sizeof v[0], v);
  return s;
}

}  // extern "C"
