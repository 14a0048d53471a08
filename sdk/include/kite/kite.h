/**
 * @file kite.h
 * Kite: run language models on small devices. The public C API (C99).
 *
 * This is the only header an application needs. It exposes opaque handles and plain C
 * types; no C++ types cross it. Three rules hold for every function below.
 *
 * Errors. Every function that returns a kite_status reports its outcome as a message
 * (NUL-terminated UTF-8): "" on success, why it failed otherwise. The message goes to
 * the calling thread's last error, read with kite_last_error(), and, when the function
 * takes a kite_session, to that session too, read with kite_session_last_error(). Each
 * such call replaces the message: it is cleared by a success and set by a failure, so it
 * always describes the latest status-returning call (of the thread, or on the session).
 * Functions that return no kite_status (kite_version, the *_init functions, closing,
 * destroying, kite_session_position, kite_session_cancel, ...) leave both unchanged.
 * On failure, the handle that an open or create function outputs is set to NULL; other
 * outputs are unspecified unless the function documents them.
 *
 * Versioned structs. A struct whose first field is `uint32_t struct_size` (the option
 * structs, kite_model_info, kite_generate_stats) is versioned: the caller sets struct_size
 * to sizeof the struct as its kite.h declares it (the *_init functions do this; set it
 * yourself for kite_model_info and kite_generate_stats). The library reads, or for output
 * structs writes, only fields that lie within the first struct_size bytes, and accepts
 * the size of every published version of the struct; a newer library gives the fields an
 * older struct lacks their defaults. Any other struct_size (0, garbage from a struct that
 * was never initialised, a size from a newer kite.h) fails with KITE_ERR_INVALID_ARGUMENT
 * before the call does anything. This header is the first version of every struct (its
 * sizeof is the only size accepted) except two: kite_session_options, at its fourth
 * (version 1 ended before kv_type, version 2 before backend and version 3 before
 * context_shift, and their sizes, offsetof(kite_session_options, kv_type),
 * offsetof(kite_session_options, backend) and offsetof(kite_session_options,
 * context_shift), are accepted too; the missing fields default to KITE_KV_F32,
 * KITE_BACKEND_CPU and no context shift), and
 * kite_generate_options, at its second (version 1 ended with add_bos; its size, which is
 * offsetof(kite_generate_options, min_p) on 32- and 64-bit Arm and x86-64, is accepted
 * too, and the later fields then take their defaults). An options pointer may be NULL for
 * the defaults.
 *
 * Platform specifics (file mapping, huge pages, threads on firmware) are described in
 * docs/c-api.md; the contracts below hold on every platform.
 *
 * Threading: a kite_model is immutable after it is opened and may be shared by any number
 * of threads and sessions. A kite_session is used by one thread at a time; only
 * kite_session_cancel may be called from another thread.
 *
 * Memory: kite_session_memory_required() reports a session's whole working memory before
 * it exists; pass your own arena to kite_session_create() to control where it lives.
 * After a session is created, generation allocates nothing. Firmware without a heap uses
 * kite_model_open_memory_in() and kite_session_create_in(): the model and session objects
 * then live in caller storage too, and Kite never allocates at all.
 */
#ifndef KITE_KITE_H_
#define KITE_KITE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of this header. kite_version() gives the library's. */
#define KITE_VERSION_MAJOR 0
/** Minor version of this header. */
#define KITE_VERSION_MINOR 1
/** Patch version of this header. */
#define KITE_VERSION_PATCH 0

/** Outcome of a call. Values are stable. */
typedef enum kite_status {
  KITE_OK = 0,
  KITE_ERR_INVALID_ARGUMENT = 1, /**< an argument or option is out of range or null */
  KITE_ERR_IO = 2,               /**< a file could not be opened, mapped or read */
  KITE_ERR_INVALID_MODEL = 3,    /**< the model file is malformed, truncated or corrupted */
  KITE_ERR_UNSUPPORTED = 4,      /**< the file needs a feature this build lacks */
  KITE_ERR_OUT_OF_MEMORY = 5,    /**< an arena or output buffer is too small, or no memory */
  KITE_ERR_CONTEXT_FULL = 6,     /**< the prompt does not fit the free context */
  KITE_ERR_CANCELLED = 7,        /**< cancelled by the caller */
  KITE_ERR_INTERNAL = 8          /**< a bug in Kite */
} kite_status;

/** Why kite_generate stopped. */
typedef enum kite_stop_reason {
  KITE_STOP_MAX_TOKENS = 0,   /**< max_tokens were generated */
  KITE_STOP_END_TOKEN = 1,    /**< the model produced an end token */
  KITE_STOP_CALLBACK = 2,     /**< the token callback returned KITE_STOP */
  KITE_STOP_CONTEXT_FULL = 3, /**< the context window filled up */
  KITE_STOP_CANCELLED = 4,    /**< kite_session_cancel was called */
  KITE_STOP_STRING = 5        /**< the text reached a stop string (kite_generate_options.stop) */
} kite_stop_reason;

/** An opened model (immutable, shareable across threads). */
typedef struct kite_model kite_model;
/** A generation session over a model (one KV cache, one arena). */
typedef struct kite_session kite_session;

/**
 * Library version as "MAJOR.MINOR.PATCH". Static string, never null.
 * @return the version, e.g. "0.1.0"
 */
const char* kite_version(void);

/**
 * Short description of a status ("invalid model file", ...). Static string, never null.
 * @param status any kite_status value (unknown values get a generic text)
 * @return the description
 */
const char* kite_status_string(kite_status status);

/**
 * The calling thread's last error: the message of its latest call that returned a
 * kite_status ("" after a success, or before any call). Never null. The pointer stays
 * valid for the thread's life; the text changes with the thread's next status-returning
 * call. (Builds with KITE_SINGLE_THREADED, for firmware without threads, keep one
 * message for the whole program.)
 * @return the message, "" when the thread's latest call succeeded
 */
const char* kite_last_error(void);

/* ------------------------------------------------------------------------------------- */
/* Models                                                                                 */

/** Options for opening a model. Initialise with kite_model_options_init(). */
typedef struct kite_model_options {
  uint32_t struct_size; /**< sizeof(kite_model_options), set by init */
  /** Nonzero: check the CRC-32C of every weight segment while opening (reads the whole
      file once). The metadata checksum is always checked. Default 0. */
  int32_t verify_checksums;
  /** Highest instruction set the kernels may use: NULL or "best" (default), or "scalar",
      "avx2", "avxvnni", "avx512vnni" (x86-64), "neon", "neondot", "i8mm" (Arm) to force a
      lower one (for testing). The environment variable KITE_ISA sets the default. */
  const char* max_isa;
  /** Nonzero (kite_model_open_file only; ignored by the other open functions): read the
      file into private memory backed by huge pages instead of mapping it, for fewer TLB
      misses while decoding, at the cost of reading the whole file at open and of private
      memory instead of shared page cache. Where the default mapping already gets huge
      pages, and where this option is available, is OS-specific: see docs/c-api.md.
      Default 0 (map). */
  int32_t huge_pages;
} kite_model_options;

/**
 * Fills `options` with defaults and sets its struct_size. NULL is ignored.
 * @param options the struct to fill, or NULL
 */
void kite_model_options_init(kite_model_options* options);

/**
 * Opens the .kite file at `path` by memory-mapping it (weights are used in place).
 * `options` may be NULL for defaults. On success *model receives a handle to free with
 * kite_model_close(). On failure *model is NULL and kite_last_error() says why.
 * @param path file name (NUL-terminated, as the OS takes it)
 * @param options open options, or NULL for the defaults
 * @param[out] model receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_open_file(const char* path, const kite_model_options* options,
                                 kite_model** model);

/**
 * Like kite_model_open_file for an open file descriptor (not closed, may be closed after).
 * @param fd a readable file descriptor of a .kite file
 * @param options open options, or NULL for the defaults
 * @param[out] model receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_open_fd(int fd, const kite_model_options* options, kite_model** model);

/**
 * Opens a model held in memory (e.g. in flash), without copying. The `size` bytes at `data`
 * must stay valid and unchanged until kite_model_close(). For zero-copy kernels `data`
 * should be 64-byte aligned.
 * @param data the .kite file's bytes (borrowed until kite_model_close())
 * @param size byte count at `data`
 * @param options open options, or NULL for the defaults
 * @param[out] model receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_open_memory(const void* data, size_t size, const kite_model_options* options,
                                   kite_model** model);

/**
 * Bytes of caller storage kite_model_open_memory_in() needs for the model at `data`
 * (`size` bytes): the model handle and its per-layer tables, not the weights, which stay
 * at `data`. Checks the file's identifier, metadata checksum and config only. The figure
 * depends on the layer count and the build (pointer size); allocates nothing.
 * @param data the .kite file's bytes
 * @param size byte count at `data`
 * @param[out] bytes receives the storage size in bytes
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_storage_required(const void* data, size_t size, size_t* bytes);

/**
 * Opens a model held in memory like kite_model_open_memory(), but builds the model handle
 * and its tables in `storage` (`storage_size` bytes, 16-byte aligned, at least
 * kite_model_storage_required(); owned by the caller, kept unchanged until
 * kite_model_close()) instead of allocating them: with kite_session_create_in() no heap is
 * used at all. Dense f32 matrices run on Kite's own kernels (the XNNPACK path, which
 * allocates, is not used). Too small a storage fails with KITE_ERR_OUT_OF_MEMORY and the
 * size needed in kite_last_error(). kite_model_close() ends the model and frees nothing.
 * @param data the .kite file's bytes (borrowed until kite_model_close())
 * @param size byte count at `data`
 * @param options open options, or NULL for the defaults
 * @param storage caller storage for the model handle and tables
 * @param storage_size bytes at `storage`
 * @param[out] model receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_open_memory_in(const void* data, size_t size,
                                      const kite_model_options* options, void* storage,
                                      size_t storage_size, kite_model** model);

/**
 * Closes a model. Every session of it must be destroyed first. NULL is ignored. A model
 * opened with kite_model_open_memory_in() is ended and its storage left to the caller.
 * @param model the model, or NULL
 */
void kite_model_close(kite_model* model);

/** Architecture summary of a model. */
typedef struct kite_model_info {
  uint32_t struct_size; /**< set to sizeof(kite_model_info) before the call */
  uint32_t dim;         /**< width of the residual stream (embedding size) */
  uint32_t hidden_dim;  /**< width of the feed-forward layer */
  uint32_t n_layers;    /**< transformer layers */
  uint32_t n_heads;     /**< query heads */
  uint32_t n_kv_heads;  /**< key/value heads (fewer than n_heads with grouped-query attention) */
  uint32_t head_dim;    /**< width of one attention head */
  uint32_t vocab_size;  /**< tokens in the vocabulary */
  uint32_t max_seq_len; /**< longest context the model supports, in tokens */
  int32_t bos_id;       /**< beginning-of-sequence token id, -1 when absent */
  int32_t eos_id;       /**< end-of-sequence token id, -1 when absent */
  uint64_t file_bytes;  /**< size of the .kite file in bytes */
} kite_model_info;

/**
 * Fills `info`; set info->struct_size first (see "Versioned structs" above).
 * @param model an open model
 * @param[out] info receives the summary (struct_size set by the caller)
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_model_get_info(const kite_model* model, kite_model_info* info);

/* ------------------------------------------------------------------------------------- */
/* Tokenizer                                                                              */

/**
 * Encodes `len` bytes of UTF-8 `text` into `tokens` (room for `capacity` ids), BOS first
 * when `add_bos` is nonzero. *n_tokens receives the count. The buffer is also the encoder's
 * working space: it needs one id per byte of text plus 2 before merging, and more when the
 * model's tokenizer normalizes text into longer text (NFKC, Lowercase, Prepend): a smaller
 * buffer fails with KITE_ERR_OUT_OF_MEMORY, and kite_last_error() names the capacity needed
 * (a lower bound for a pipeline of several normalizer steps).
 * Thread-safe; allocates nothing.
 * @param model an open model
 * @param text UTF-8 text (need not be NUL-terminated)
 * @param len bytes of `text`
 * @param add_bos nonzero: BOS first
 * @param[out] tokens receives the ids
 * @param capacity room in `tokens`, in ids
 * @param[out] n_tokens receives the id count
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_tokenize(const kite_model* model, const char* text, size_t len, int32_t add_bos,
                          int32_t* tokens, size_t capacity, size_t* n_tokens);

/**
 * Decodes `n` ids into `text` (room for `capacity` bytes, NUL-terminated). *len receives the
 * text length. Thread-safe; allocates nothing.
 * @param model an open model
 * @param tokens the ids
 * @param n id count
 * @param[out] text receives the text, NUL-terminated
 * @param capacity room in `text`, in bytes (with the NUL)
 * @param[out] len receives the text length in bytes (without the NUL)
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_detokenize(const kite_model* model, const int32_t* tokens, size_t n, char* text,
                            size_t capacity, size_t* len);

/* ------------------------------------------------------------------------------------- */
/* Chat                                                                                   */

/** Prompt formats of chat models (kite_model_chat_format). */
typedef enum kite_chat_format_id {
  KITE_CHAT_FORMAT_NONE = 0,   /**< not a chat model: messages become "role: content\n" */
  KITE_CHAT_FORMAT_LLAMA2 = 1, /**< "[INST] ... [/INST]" (Llama 2 chat) */
  KITE_CHAT_FORMAT_LLAMA3 = 2, /**< "<|start_header_id|>role<|end_header_id|>..." (Llama 3) */
  KITE_CHAT_FORMAT_CHATML = 3, /**< "<|im_start|>role\n...<|im_end|>" (Qwen, SmolLM2) */
  KITE_CHAT_FORMAT_PHI3 = 4,   /**< "<|user|>\n...<|end|>" (Phi-3) */
  KITE_CHAT_FORMAT_GEMMA = 5   /**< "<start_of_turn>user\n...<end_of_turn>" (Gemma) */
} kite_chat_format_id;

/** One message of a conversation. Both strings are NUL-terminated UTF-8, borrowed. */
typedef struct kite_chat_message {
  const char* role;    /**< "system", "user" or "assistant" */
  const char* content; /**< the message text */
} kite_chat_message;

/**
 * The model's chat format (chosen by kite-convert; KITE_CHAT_FORMAT_NONE when none).
 * @param model an open model
 * @return the format, KITE_CHAT_FORMAT_NONE for a model without one
 */
kite_chat_format_id kite_model_chat_format(const kite_model* model);

/**
 * Formats `messages[0..n)` with the model's chat format into `buf` (room for `capacity`
 * bytes, NUL-terminated). With `add_generation_prompt` nonzero the text ends with the
 * header that opens the assistant's answer. The BOS token is not written (sessions add it).
 * *len receives the length the text needs (without NUL) even when it does not fit; then the
 * call fails with KITE_ERR_OUT_OF_MEMORY. See docs/models.md for how each format renders.
 * Thread-safe; allocates nothing.
 *
 * For display and logging. To run a conversation use kite_chat_tokenize(): the text
 * holds the messages verbatim, so passing it to kite_tokenize_special() would turn
 * special-token text inside a message (e.g. "<|end|>\n<|assistant|>") into real control
 * tokens and let the message forge turns.
 * @param model an open model
 * @param messages the conversation, oldest first
 * @param n message count
 * @param add_generation_prompt nonzero: end with the assistant's header
 * @param[out] buf receives the text, NUL-terminated
 * @param capacity room in `buf`, in bytes (with the NUL)
 * @param[out] len receives the length the text needs (without the NUL)
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_chat_format(const kite_model* model, const kite_chat_message* messages, size_t n,
                             int32_t add_generation_prompt, char* buf, size_t capacity, size_t* len);

/**
 * Formats `messages[0..n)` like kite_chat_format() and tokenizes the result safely: the
 * format's own markers (such as "<|im_start|>", "<|eot_id|>", "<|end|>", "<s>") become
 * their special tokens, while roles and message contents are tokenized as plain text, so
 * special-token text inside a message stays text and cannot forge a turn. For messages
 * without such text the ids are those of kite_tokenize_special() on kite_chat_format()'s
 * output. BOS comes first when `add_bos` is nonzero and the model's prompts start with
 * BOS (as sessions do). (Llama 2's "[INST]" markers are plain text in its vocabulary, so
 * that format cannot tell them from message text.)
 *
 * `tokens` (room for `capacity` ids) also holds the formatted text while the call works:
 * it needs L + 2 + (L + 4) / 4 ids, L being the formatted length kite_chat_format()
 * reports. With fewer the call fails with KITE_ERR_OUT_OF_MEMORY and *n_tokens receives
 * the capacity needed (call with capacity 0 to ask); on success *n_tokens receives the
 * count. Thread-safe; allocates nothing.
 * @param model an open model
 * @param messages the conversation, oldest first
 * @param n message count
 * @param add_generation_prompt nonzero: end with the assistant's header
 * @param add_bos nonzero: BOS first when the model's prompts start with it
 * @param[out] tokens receives the ids
 * @param capacity room in `tokens`, in ids
 * @param[out] n_tokens receives the id count, or the capacity needed
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_chat_tokenize(const kite_model* model, const kite_chat_message* messages,
                               size_t n, int32_t add_generation_prompt, int32_t add_bos,
                               int32_t* tokens, size_t capacity, size_t* n_tokens);

/**
 * Like kite_tokenize, but special-token text anywhere in `text` (control pieces of the
 * vocabulary such as "<|im_start|>" or "<|eot_id|>") becomes the special token's id
 * instead of being spelled out. Only for trusted text: never for text holding user input
 * (use kite_chat_tokenize() for conversations). Unlike kite_tokenize, BOS is added only
 * when `add_bos` is nonzero and the model's prompts start with BOS (as sessions do).
 * Thread-safe; allocates nothing.
 * @param model an open model
 * @param text trusted UTF-8 text (need not be NUL-terminated)
 * @param len bytes of `text`
 * @param add_bos nonzero: BOS first when the model's prompts start with it
 * @param[out] tokens receives the ids
 * @param capacity room in `tokens`, in ids
 * @param[out] n_tokens receives the id count
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_tokenize_special(const kite_model* model, const char* text, size_t len,
                                  int32_t add_bos, int32_t* tokens, size_t capacity,
                                  size_t* n_tokens);

/* ------------------------------------------------------------------------------------- */
/* Sessions                                                                               */

/** Element type of a session's KV cache (kite_session_options.kv_type). */
typedef enum kite_kv_type {
  KITE_KV_F32 = 0, /**< f32 keys and values: exact (the default) */
  /** int8 keys and values with an f16 scale and offset per KV head per position (the 256
      codes span the head's own range), quantized as they are written: (head_dim + 4) /
      (4 head_dim) of the f32 cache's bytes (3/8 at head_dim 8, about 1/4 from head_dim 64),
      slightly less exact. */
  KITE_KV_INT8 = 1
} kite_kv_type;

/** Where a session's forward pass runs (kite_session_options.backend). See
    docs/vulkan.md. */
typedef enum kite_backend {
  /** The CPU kernels (default). */
  KITE_BACKEND_CPU = 0,
  /** The model's Vulkan device: a GPU, or a CPU device such as lavapipe when the
      environment sets KITE_VULKAN_ALLOW_CPU=1. kite_session_create fails with the reason
      (KITE_ERR_UNSUPPORTED) when there is none, the build has no Vulkan backend, the
      device lacks a required feature or the model uses an encoding the shaders do not run.
      The model's weights are uploaded once, by its first Vulkan session, and shared. */
  KITE_BACKEND_VULKAN = 1,
  /** The Vulkan device when it qualifies (as above) and passes a self-check (one token
      through both paths, logits compared), else the CPU: session creation then succeeds
      and kite_session_backend_notice() says why (one line, for the user). */
  KITE_BACKEND_AUTO = 2
} kite_backend;

/** Options that size a session. Initialise with kite_session_options_init(). */
typedef struct kite_session_options {
  uint32_t struct_size; /**< sizeof(kite_session_options), set by init */
  /** Longest prompt + generation in tokens, 1..the model's max_seq_len. Default 512.
      The KV cache grows linearly with it. */
  uint32_t max_context;
  /** Worker threads; >= 1. Default 1. */
  uint32_t threads;
  /** Most prompt tokens processed together during prefill, 1..1024. Default 64. Larger
      chunks are faster up to a point; activation memory grows with the chunk. */
  uint32_t prefill_chunk;
  /** KV cache element type, a kite_kv_type (KITE_KV_F32 or KITE_KV_INT8). Default
      KITE_KV_F32. Added in version 2 of this struct (see "Versioned structs"). Another
      value fails with KITE_ERR_INVALID_ARGUMENT naming kv_type. */
  uint32_t kv_type;
  /** Where the forward pass runs, a kite_backend. Default KITE_BACKEND_CPU. Added in
      version 3 of this struct. Another value fails with KITE_ERR_INVALID_ARGUMENT naming
      backend. The Vulkan path needs a model that is not in place (kite_model_open_in);
      `auto` falls back to the CPU otherwise. */
  uint32_t backend;
  /** Nonzero: time every GPU kernel of a Vulkan session with timestamp queries (read them
      with kite_session_kernel_times; it costs a little speed). Ignored on the CPU. Default
      0. Added in version 3 of this struct. */
  uint32_t profile;
  /** Nonzero: when generation fills the context, keep its first n_keep tokens, drop the
      older half of the rest, recompute the K/V rows of the tokens that moved (exactly what
      a fresh session fed the kept tokens holds) and go on, so kite_generate can run past
      max_context. 0 (default): a full context ends generation with
      KITE_STOP_CONTEXT_FULL. Prompts and kite_session_feed() never shift: one that does
      not fit still fails with KITE_ERR_CONTEXT_FULL. Added in version 4 of this struct. */
  uint32_t context_shift;
  /** Tokens a context shift keeps at the start of the context (e.g. the system prompt);
      with context_shift, n_keep + 2 <= max_context, else KITE_ERR_INVALID_ARGUMENT naming
      n_keep. Default 0. Added in version 4 of this struct. */
  uint32_t n_keep;
} kite_session_options;

/**
 * Fills `options` with defaults (max_context 512, threads 1, prefill_chunk 64, kv_type
 * KITE_KV_F32, backend KITE_BACKEND_CPU, no profiling, no context shift) and sets its
 * struct_size. NULL is ignored.
 * @param options the struct to fill, or NULL
 */
void kite_session_options_init(kite_session_options* options);

/**
 * Bytes of working memory (KV cache, activations, scratch) a session with `options` needs.
 * Fails with KITE_ERR_INVALID_ARGUMENT for options out of range, naming the option.
 * @param model an open model
 * @param options session options, or NULL for the defaults
 * @param[out] bytes receives the working memory in bytes
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_session_memory_required(const kite_model* model, const kite_session_options* options,
                                         size_t* bytes);

/**
 * Creates a session. With `arena` NULL the session allocates its working memory; otherwise
 * `arena` (64-byte aligned, at least kite_session_memory_required() bytes, owned by the
 * caller) is used and must outlive the session. The model must outlive the session.
 * @param model an open model
 * @param options session options, or NULL for the defaults
 * @param arena caller memory for the session's working memory, or NULL to allocate it
 * @param arena_size bytes at `arena` (ignored when it is NULL)
 * @param[out] session receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_session_create(const kite_model* model, const kite_session_options* options,
                                void* arena, size_t arena_size, kite_session** session);

/**
 * Bytes of caller storage kite_session_create_in() needs for the session object itself
 * (the arena is separate). Constant for a build (it depends on the pointer size).
 * @return the size of the session object in bytes
 */
size_t kite_session_storage_required(void);

/**
 * Like kite_session_create() with a caller arena (`arena` must not be NULL), but the
 * session object is built in `storage` (`storage_size` bytes, 16-byte aligned, at least
 * kite_session_storage_required(); owned by the caller, kept until
 * kite_session_destroy()): nothing is allocated. Firmware uses this with a static arena.
 * @param model an open model
 * @param options session options, or NULL for the defaults
 * @param arena caller memory for the session's working memory (not NULL)
 * @param arena_size bytes at `arena`
 * @param storage caller storage for the session object
 * @param storage_size bytes at `storage`
 * @param[out] session receives the handle, or NULL on failure
 * @return KITE_OK, or the failure's status (the message: kite_last_error())
 */
kite_status kite_session_create_in(const kite_model* model, const kite_session_options* options,
                                   void* arena, size_t arena_size, void* storage,
                                   size_t storage_size, kite_session** session);

/**
 * Destroys a session; frees neither a caller-provided arena nor kite_session_create_in()
 * storage. NULL is ignored.
 * @param session the session, or NULL
 */
void kite_session_destroy(kite_session* session);

/**
 * The session's last error: the message of the latest status-returning call on it (""
 * after a success). For a NULL session, a static "session is null". Valid until the
 * session's next status-returning call or its destruction; readable from any thread
 * while no call runs on the session.
 * @param session the session, or NULL
 * @return the message, never NULL
 */
const char* kite_session_last_error(const kite_session* session);

/**
 * Empties the session's context, drops its logits and withdraws a pending
 * kite_session_cancel().
 * @param session the session
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_reset(kite_session* session);

/**
 * Tokens currently in the session's context.
 * @param session the session
 * @return the token count (0 for a NULL session)
 */
uint32_t kite_session_position(const kite_session* session);

/**
 * The backend the session runs on: KITE_BACKEND_CPU or KITE_BACKEND_VULKAN (never AUTO;
 * KITE_BACKEND_CPU for a NULL session). Leaves the last error unchanged.
 * @param session the session
 * @return the backend in use
 */
kite_backend kite_session_backend(const kite_session* session);

/**
 * When the session was created with KITE_BACKEND_AUTO and runs on the CPU: why, as one
 * line for the user (e.g. "backend auto: running on the CPU (no suitable Vulkan device:
 * ...)"); "" otherwise or for a NULL session. Valid while the session lives. Leaves the
 * last error unchanged.
 * @param session the session
 * @return the notice, or ""; never NULL
 */
const char* kite_session_backend_notice(const kite_session* session);

/**
 * Appends `n` token ids to the context (prefill) and computes the next-token logits,
 * readable with kite_session_logits(). Fails with KITE_ERR_CONTEXT_FULL (changing nothing)
 * when they do not fit, and KITE_ERR_INVALID_ARGUMENT for an id outside the vocabulary.
 * Honours kite_session_cancel(): a cancelled feed returns KITE_ERR_CANCELLED and leaves
 * the context (and the logits) as they were.
 * @param session the session
 * @param tokens the ids to append
 * @param n id count
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_feed(kite_session* session, const int32_t* tokens, size_t n);

/**
 * The next-token logits: the model's prediction after the last token in the context
 * (after kite_generate, the last generated token), *n_logits = vocab_size floats, valid
 * until the next call on the session. A fresh or reset session has none until a
 * kite_session_feed() or kite_generate() adds tokens (a cancelled one adds none): then
 * the call fails with KITE_ERR_INVALID_ARGUMENT, *logits = NULL and *n_logits = 0.
 * @param session the session
 * @param[out] logits receives a pointer to vocab_size floats (owned by the session)
 * @param[out] n_logits receives vocab_size
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_logits(const kite_session* session, const float** logits, size_t* n_logits);

/** GPU time of one kernel (shader), summed over its dispatches. */
typedef struct kite_kernel_time {
  const char* name; /**< the shader's name (static storage), e.g. "q4r16_matvec" */
  uint32_t calls;   /**< dispatches of it */
  double ms;        /**< their summed GPU time, in milliseconds */
} kite_kernel_time;

/**
 * Per-kernel GPU times of a Vulkan session created with kite_session_options.profile,
 * summed over every forward step since the session was created or last reset, in the order
 * the kernels first ran: at most `capacity` entries are written to `times`, and *count
 * receives the number there are (call with capacity 0 to size the array). A CPU session,
 * or one without profile, has none (*count = 0, KITE_OK). Fails with
 * KITE_ERR_UNSUPPORTED when the device cannot time kernels (no timestamp support on its
 * compute queue), naming that.
 * @param session the session
 * @param[out] times receives at most `capacity` entries (may be NULL when `capacity` is 0)
 * @param capacity room in `times`, in entries
 * @param[out] count receives the number of kernels timed
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_kernel_times(const kite_session* session, kite_kernel_time* times,
                                      size_t capacity, size_t* count);

/**
 * Cancels the session's running kite_session_feed() or kite_generate(), or, when none
 * runs, the next one. Thread-safe (it sets an atomic flag); may be called from a token
 * callback. The call that sees the cancel consumes it and returns
 * KITE_ERR_CANCELLED:
 *  - it checks after validating its arguments (a call that fails on them, or with
 *    KITE_ERR_CONTEXT_FULL, leaves the cancel pending), before each prefill chunk, before
 *    each token is sampled, and right after each token's callback returns;
 *  - a prompt (or feed) whose prefill is interrupted is rolled back: the context is as
 *    before the call; a cancel seen once kite_generate's prefill is complete (before its
 *    first token) keeps the prompt in the context and generates nothing
 *    (stats: prompt_tokens counts it, generated_tokens is 0);
 *  - tokens already generated were handed to the callback and stay in the context, the
 *    last one included (unless the context had no room left for it, as with
 *    KITE_STOP_CONTEXT_FULL); kite_generate's stats are filled (stop_reason
 *    KITE_STOP_CANCELLED, generated_tokens counts them).
 * A cancel that arrives after the running call's last check stops the next call;
 * kite_session_reset() withdraws it.
 * @param session the session (NULL is ignored)
 */
void kite_session_cancel(kite_session* session);

/**
 * The token ids in the session's context, oldest first (kite_session_position() of them):
 * those fed, generated or restored. With fewer than that `capacity` the call fails with
 * KITE_ERR_OUT_OF_MEMORY and *n_tokens still receives the count. Allocates nothing.
 * @param session the session
 * @param[out] tokens receives the ids (owned by the caller; may be NULL when capacity is 0)
 * @param capacity room at `tokens`, in ids
 * @param[out] n_tokens receives the number of ids in the context
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_tokens(const kite_session* session, int32_t* tokens, size_t capacity,
                                size_t* n_tokens);

/**
 * Bytes kite_session_save_state() needs for the session as it is now (the size grows with
 * the context: the KV rows of every position, plus the logits). Query it before saving.
 * The same for a CPU and a Vulkan session of the same model and options.
 * @param session the session
 * @param[out] bytes receives the state's size in bytes
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_state_size(const kite_session* session, size_t* bytes);

/**
 * Saves the session's state into `buffer`: a versioned, checksummed record of the model's
 * fingerprint, the options that shape the KV cache (max_context, kv_type), the context's
 * token ids, its KV cache rows, the last token and the next-token logits (see docs/c-api.md
 * "Session state"). Restore it with kite_session_restore_state() into a session of the same
 * model and options, e.g. to skip re-reading a cached system prompt. The bytes are in the
 * host's byte order. Too small a `capacity` fails with KITE_ERR_OUT_OF_MEMORY and *written
 * receives the size needed. A Vulkan session reads its KV rows back from the device into
 * the same format (a state restores on either backend); a device failure is returned.
 * Allocates nothing; the session is unchanged.
 * @param session the session
 * @param[out] buffer receives the state (owned by the caller)
 * @param capacity bytes available at `buffer`
 * @param[out] written receives the state's size in bytes
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_save_state(const kite_session* session, void* buffer, size_t capacity,
                                    size_t* written);

/**
 * Replaces the session's context with a state kite_session_save_state() wrote (from this
 * or another session of the same model file and the same max_context and kv_type; other
 * options such as threads may differ). Everything is checked before the session changes:
 * a state of another model or other options, truncated or corrupted (its CRC-32C), fails
 * with KITE_ERR_INVALID_ARGUMENT naming what differs, and the session stays as it was. On
 * success the context, the logits and the penalties' recent tokens are those saved, and a
 * pending kite_session_cancel() is withdrawn. The state may come from a session on the
 * other backend (CPU or Vulkan). A Vulkan session writes the KV rows to the device; a device
 * failure there leaves the session reset and unusable. Allocates nothing.
 * @param session the session
 * @param buffer the state (read only during the call)
 * @param size the state's size in bytes
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_session_restore_state(kite_session* session, const void* buffer, size_t size);

/** Returned by a token callback: go on generating. */
#define KITE_CONTINUE 0
/** Returned by a token callback: stop (kite_generate returns with KITE_STOP_CALLBACK). */
#define KITE_STOP 1

/**
 * Called once per generated token with its id (`token`), the text it completes (`piece`,
 * NUL-terminated UTF-8, valid during the call) and the user pointer. Return KITE_CONTINUE
 * or KITE_STOP. Control tokens have no text. By default (raw_pieces 0) the text is always
 * whole, valid UTF-8 characters: a character split across tokens is held back and passed
 * with the token that completes it, so `piece` may be "" and may hold the end of earlier
 * tokens' text; an ill-formed byte sequence in the model's output is passed as U+FFFD.
 * Text that may be the start of a stop string (kite_generate_options.stop) is held back
 * too; a completed stop string and the text after it are never passed. When the call ends
 * with text still held back (a character left incomplete, or the start of a stop string
 * that never completed), the callback is called once more with that text and token -1;
 * that call's return value is ignored. With raw_pieces nonzero, `piece` is the token's
 * own text, bytes as they are (possibly part of a multi-byte character), held back only
 * for stop strings.
 */
typedef int (*kite_token_callback)(const char* piece, int32_t token, void* user);

/** Most stop strings one kite_generate call takes (kite_generate_options.n_stop). */
#define KITE_MAX_STOP_STRINGS 8
/** Longest stop string, in bytes. */
#define KITE_MAX_STOP_STRING_BYTES 64
/** Longest window of the penalties (kite_generate_options.penalty_last_n), in tokens. */
#define KITE_MAX_PENALTY_LAST_N 1024

/** A bias added to one token's logit before sampling (kite_generate_options.logit_bias). */
typedef struct kite_logit_bias {
  int32_t token; /**< token id, in [0, vocab_size) */
  float bias;    /**< added to the logit: finite, or -INFINITY to ban the token */
} kite_logit_bias;

/**
 * Options of one kite_generate call. Initialise with kite_generate_options_init().
 *
 * The logits are adjusted, on a copy, in this order: logit_bias; repetition_penalty
 * (llama.cpp's rule: a positive logit is divided by it, a negative one multiplied);
 * frequency_penalty times the token's count in the window and presence_penalty once, both
 * subtracted. The window is the context's last penalty_last_n tokens (prompt and generated
 * ones, of this and earlier calls since the last reset). Then greedy (temperature 0) picks
 * the largest; otherwise temperature, min_p, top_k and top_p filter, in that order, and a
 * token is drawn. The same options, seed and context give the same tokens. Any field out
 * of its range (NaN included) fails with KITE_ERR_INVALID_ARGUMENT naming the field, before
 * anything is generated.
 */
typedef struct kite_generate_options {
  uint32_t struct_size; /**< sizeof(kite_generate_options), set by init */
  int32_t max_tokens;   /**< most tokens to generate, >= 0. Default 256 */
  float temperature;    /**< 0 = greedy (default); otherwise 0 < t <= 100 */
  int32_t top_k;        /**< keep the k most likely tokens; 0 = off (default) */
  float top_p;          /**< nucleus sampling mass in (0, 1]; 1 = off (default) */
  uint64_t seed;        /**< random seed for sampling. Default 0 */
  int32_t add_bos;      /**< nonzero: start an empty session with BOS. Default 1 */
  /** Padding that ends version 1 of this struct; ignored. (It keeps the fields below,
      added in version 2, past version 1's size on every ABI.) */
  int32_t reserved;
  /** Keep only tokens whose probability (after the temperature) is at least min_p times
      the most likely token's; in [0, 1]. 0 = off (default). Version 2. */
  float min_p;
  /** Repetition penalty for tokens in the window, in (0, 100]; > 1 discourages repeats.
      1 = off (default). Version 2. */
  float repetition_penalty;
  /** Subtracted from a token's logit once per occurrence in the window, in [0, 100].
      0 = off (default). Version 2. */
  float frequency_penalty;
  /** Subtracted once from the logit of a token present in the window, in [0, 100].
      0 = off (default). Version 2. */
  float presence_penalty;
  /** Tokens the penalties look back over, 0..KITE_MAX_PENALTY_LAST_N (a window longer than
      the context sees the whole context). 0 turns the penalties off. Default 64.
      Version 2. */
  int32_t penalty_last_n;
  /** Nonzero: the callback gets each token's own bytes instead of whole UTF-8
      characters (see kite_token_callback). Default 0. Version 2. */
  int32_t raw_pieces;
  /** n_logit_bias biases (borrowed for the call, owned by the caller; may be NULL when
      n_logit_bias is 0). A token listed twice gets both. Default NULL. Version 2. */
  const kite_logit_bias* logit_bias;
  size_t n_logit_bias; /**< entries of logit_bias. Default 0. Version 2 */
  /** n_stop stop strings (the array and the strings are borrowed for the call, owned by
      the caller): NUL-terminated UTF-8, each 1..KITE_MAX_STOP_STRING_BYTES bytes. Once the
      generated text contains one, generation stops (KITE_STOP_STRING); the token that
      completed it stays in the context but the stop string is never passed to the
      callback. Matched across token boundaries, on the text the callback would see.
      Default NULL. Version 2. */
  const char* const* stop;
  size_t n_stop; /**< entries of stop, 0..KITE_MAX_STOP_STRINGS. Default 0. Version 2 */
} kite_generate_options;

/**
 * Fills `options` with defaults and sets its struct_size. NULL is ignored.
 * @param options the struct to fill, or NULL
 */
void kite_generate_options_init(kite_generate_options* options);

/** Figures of one kite_generate call. */
typedef struct kite_generate_stats {
  uint32_t struct_size; /**< set to sizeof(kite_generate_stats) before the call */
  uint32_t prompt_tokens;    /**< tokens the prompt added to the context (BOS included) */
  uint32_t generated_tokens; /**< tokens generated (passed to the callback) */
  kite_stop_reason stop_reason; /**< KITE_STOP_CANCELLED exactly when the call returned
                                     KITE_ERR_CANCELLED */
  double prefill_ms;     /**< time to process the prompt */
  double decode_ms;      /**< time from the prompt's end to the last token */
  double first_token_ms; /**< time from the call to the first token */
} kite_generate_stats;

/**
 * Encodes `prompt` (NUL-terminated UTF-8; special-token text in it is plain text),
 * appends it to the session's context and generates up to max_tokens tokens, calling
 * `callback` (may be NULL) for each as kite_token_callback describes. Every generated token
 * is appended to the context; an end token stops generation without being passed on or
 * appended; a stop string stops it after the token that completed it (KITE_STOP_STRING).
 * Options out of range fail with KITE_ERR_INVALID_ARGUMENT naming the field, changing
 * nothing. An empty prompt
 * continues the context. A prompt that does not fit the free context fails with
 * KITE_ERR_CONTEXT_FULL and changes nothing. A cancel (kite_session_cancel) makes it
 * return KITE_ERR_CANCELLED. `options` may be NULL for defaults; `stats` may be NULL, and
 * is filled when the call returns KITE_OK or KITE_ERR_CANCELLED. Allocates nothing.
 * @param session the session
 * @param prompt text to append first (NUL-terminated UTF-8; "" to continue)
 * @param options generation options, or NULL for the defaults
 * @param callback called with each generated token, or NULL
 * @param user passed to `callback` unchanged
 * @param[out] stats receives the call's figures, or NULL
 * @return KITE_OK, or the failure's status (the message: kite_last_error() and kite_session_last_error())
 */
kite_status kite_generate(kite_session* session, const char* prompt,
                          const kite_generate_options* options, kite_token_callback callback,
                          void* user, kite_generate_stats* stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KITE_KITE_H_ */
