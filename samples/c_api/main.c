/* Minimal C program: open a model, report its memory needs, stream a story.
 * Usage: kite-c-api-sample MODEL.kite [PROMPT] */
#include <stdio.h>
#include <stdlib.h>

#include "kite/kite.h"

static int print_piece(const char* piece, int32_t token, void* user) {
  int* count = (int*)user;
  (void)token;
  fputs(piece, stdout);
  fflush(stdout);
  ++*count;
  return KITE_CONTINUE;
}

int main(int argc, char** argv) {
  kite_model* model = NULL;
  kite_session* session = NULL;
  kite_session_options session_options;
  kite_generate_options generate_options;
  kite_generate_stats stats;
  size_t arena_bytes = 0;
  void* block = NULL;
  void* arena = NULL;
  int count = 0;
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  kite_status status;

  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.kite [PROMPT]\n", argv[0]);
    return 2;
  }
  status = kite_model_open_file(argv[1], NULL, &model);
  if (status != KITE_OK) {
    fprintf(stderr, "error: %s: %s\n", kite_status_string(status), kite_last_error());
    return 1;
  }
  kite_session_options_init(&session_options);
  session_options.max_context = 256;
  status = kite_session_memory_required(model, &session_options, &arena_bytes);
  if (status != KITE_OK) {
    fprintf(stderr, "error: %s\n", kite_last_error());
    kite_model_close(model);
    return 1;
  }
  /* The caller owns the arena (on firmware: a static buffer); it must be 64-byte aligned. */
  block = malloc(arena_bytes + 63);
  if (block == NULL) {
    fprintf(stderr, "error: cannot allocate %zu bytes\n", arena_bytes);
    kite_model_close(model);
    return 1;
  }
  arena = (void*)(((uintptr_t)block + 63) & ~(uintptr_t)63);
  status = kite_session_create(model, &session_options, arena, arena_bytes, &session);
  if (status != KITE_OK) {
    fprintf(stderr, "error: %s\n", kite_last_error());
    free(block);
    kite_model_close(model);
    return 1;
  }
  kite_generate_options_init(&generate_options);
  generate_options.max_tokens = 64;
  stats.struct_size = sizeof(stats);
  fputs(prompt, stdout);
  status = kite_generate(session, prompt, &generate_options, print_piece, &count, &stats);
  if (status != KITE_OK) {
    fprintf(stderr, "\nerror: %s\n", kite_session_last_error(session));
  } else {
    printf("\n[kite %s: %u prompt tokens, %d generated, arena %zu bytes]\n", kite_version(),
           (unsigned)stats.prompt_tokens, count, arena_bytes);
  }
  kite_session_destroy(session);
  free(block);
  kite_model_close(model);
  return status == KITE_OK ? 0 : 1;
}
