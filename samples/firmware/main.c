/*
 * Kite on a Cortex-M7 without an OS: the .kite model is linked into flash and read in
 * place, the model and session objects and the session arena are static buffers sized on
 * the build host (kite_fw_plan.h, from the memory planner), and nothing is allocated. It
 * generates greedy tokens for "Once upon a time", printing through semihosting, then the
 * ids (the qemu test compares them with the host's) and the flash and RAM it uses.
 */
#include <stdint.h>
#include <string.h>

#include "kite/kite.h"
#include "kite_fw_plan.h"
#include "semihosting.h"

#define KITE_FW_PROMPT "Once upon a time"
#define KITE_FW_TOKENS 64

/* model_blob.S and the linker script. */
extern const uint8_t kite_fw_model[];
extern const uint8_t kite_fw_model_end[];
extern const uint8_t __kite_flash_end[];
extern uint8_t _sdata[], _ebss[], _sstack[], _estack[];
/* startup.c: the stack's high-water mark so far, in bytes. */
uint32_t kite_fw_stack_used(void);

static uint8_t g_arena[KITE_FW_ARENA_BYTES] __attribute__((aligned(64)));
static uint8_t g_model_storage[KITE_FW_MODEL_STORAGE_BYTES] __attribute__((aligned(16)));
static uint8_t g_session_storage[KITE_FW_SESSION_STORAGE_BYTES] __attribute__((aligned(16)));

/* Generated ids, kept for the summary line the test reads. */
static int32_t g_ids[KITE_FW_TOKENS];
static uint32_t g_n_ids;
/* Prompt ids: the tokenizer needs one slot per byte plus BOS and a spare. */
static int32_t g_prompt_ids[sizeof(KITE_FW_PROMPT) + 2];

static int Fail(const char* what, kite_status status, const char* message) {
  semihosting_write("\nFATAL: ");
  semihosting_write(what);
  semihosting_write(": ");
  semihosting_write(kite_status_string(status));
  semihosting_write(": ");
  semihosting_write(message);
  semihosting_write("\n");
  return 1;
}

/* Checks a static buffer against the figure Kite asks for at run time. */
static int CheckFits(const char* what, size_t needed, size_t have) {
  semihosting_write_u32(what, (uint32_t)needed, " of ");
  semihosting_write_u32("", (uint32_t)have, " static bytes\n");
  if (needed <= have) return 1;
  semihosting_write("FATAL: the static buffer is too small; rebuild so kite-firmware-plan "
                    "regenerates kite_fw_plan.h for this model\n");
  return 0;
}

static int OnToken(const char* piece, int32_t token, void* user) {
  (void)user;
  /* token -1 carries text held back until the end, not a token. */
  if (token >= 0 && g_n_ids < KITE_FW_TOKENS) g_ids[g_n_ids++] = token;
  semihosting_write(piece);
  return KITE_CONTINUE;
}

static void WriteIds(const char* label, const int32_t* ids, size_t n) {
  semihosting_write(label);
  for (size_t i = 0; i < n; ++i) semihosting_write_u32(" ", (uint32_t)ids[i], "");
  semihosting_write("\n");
}

int main(void) {
  const size_t model_bytes = (size_t)(kite_fw_model_end - kite_fw_model);
  semihosting_write("kite firmware sample: Cortex-M7, model in flash, static arena, no heap\n");
  semihosting_write("kite ");
  semihosting_write(kite_version());
  semihosting_write("\n");

  size_t needed = 0;
  kite_status s = kite_model_storage_required(kite_fw_model, model_bytes, &needed);
  if (s != KITE_OK) return Fail("model storage", s, kite_last_error());
  if (!CheckFits("model storage: ", needed, sizeof(g_model_storage))) return 1;
  kite_model* model = NULL;
  s = kite_model_open_memory_in(kite_fw_model, model_bytes, NULL, g_model_storage,
                                sizeof(g_model_storage), &model);
  if (s != KITE_OK) return Fail("cannot open the model", s, kite_last_error());

  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = KITE_FW_MAX_CONTEXT;
  so.prefill_chunk = KITE_FW_PREFILL_CHUNK;
  s = kite_session_memory_required(model, &so, &needed);
  if (s != KITE_OK) return Fail("cannot plan the session", s, kite_last_error());
  if (!CheckFits("session arena: ", needed, sizeof(g_arena))) return 1;
  if (!CheckFits("session storage: ", kite_session_storage_required(), sizeof(g_session_storage))) {
    return 1;
  }
  kite_session* session = NULL;
  s = kite_session_create_in(model, &so, g_arena, sizeof(g_arena), g_session_storage,
                             sizeof(g_session_storage), &session);
  if (s != KITE_OK) return Fail("cannot create the session", s, kite_last_error());

  size_t n_prompt = 0;
  s = kite_tokenize(model, KITE_FW_PROMPT, strlen(KITE_FW_PROMPT), 1, g_prompt_ids,
                    sizeof(g_prompt_ids) / sizeof(g_prompt_ids[0]), &n_prompt);
  if (s != KITE_OK) return Fail("cannot tokenize the prompt", s, kite_last_error());

  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = KITE_FW_TOKENS;
  go.temperature = 0.0f;
  semihosting_write("---\n" KITE_FW_PROMPT);
  s = kite_generate(session, KITE_FW_PROMPT, &go, OnToken, NULL, NULL);
  semihosting_write("\n---\n");
  if (s != KITE_OK) return Fail("generation failed", s, kite_session_last_error(session));

  WriteIds("KITE_PROMPT_IDS:", g_prompt_ids, n_prompt);
  WriteIds("KITE_IDS:", g_ids, g_n_ids);
  semihosting_write_u32("flash bytes: ", (uint32_t)(uintptr_t)__kite_flash_end, "");
  semihosting_write_u32(" (model ", (uint32_t)model_bytes, ")\n");
  semihosting_write_u32("RAM bytes: ", (uint32_t)(_estack - _sdata), "");
  semihosting_write_u32(" (arena ", (uint32_t)sizeof(g_arena), "");
  semihosting_write_u32(", model and session objects ",
                        (uint32_t)(sizeof(g_model_storage) + sizeof(g_session_storage)), "");
  semihosting_write_u32(", stack ", (uint32_t)(_estack - _sstack), "");
  semihosting_write_u32(" of which used ", kite_fw_stack_used(), ")\n");

  kite_session_destroy(session);
  kite_model_close(model);
  semihosting_write("KITE_DONE\n");
  return 0;
}
