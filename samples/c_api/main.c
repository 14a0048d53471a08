/* Minimal C program: open a model, report its memory needs, stream a story.
 * Usage: kite-c-api-sample [--help] MODEL.kite [PROMPT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kite/kite.h"

static void usage(FILE* out, const char* argv0) {
  fprintf(out,
          "usage: %s [--help] MODEL.kite [PROMPT]\n"
          "\n"
          "Opens MODEL.kite (written by kite-convert), prints PROMPT (default \"Once upon a\n"
          "time\") and streams up to 64 generated tokens after it, greedily, in a 256-token\n"
          "context whose arena the program allocates itself. A pure C99 use of kite/kite.h.\n"
          "\n"
          "  --help, -h   show this help and exit\n"
          "  --           end of options: the next argument is MODEL.kite even if it starts\n"
          "               with '-'\n"
          "\n"
          "Exit status: 0 on success, 1 when the model cannot be opened or generation fails,\n"
          "2 for a usage error.\n",
          argv0);
}

static int print_piece(const char* piece, int32_t token, void* user) {
  int* count = (int*)user;
  fputs(piece, stdout);
  fflush(stdout);
  if (token >= 0) ++*count; /* token -1: text held back until the end, not a token */
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
  const char* argv0 = argc > 0 ? argv[0] : "kite-c-api-sample";
  const char* positional[2] = {NULL, "Once upon a time"};
  int n_positional = 0;
  int options_done = 0;
  int i;
  kite_status status;

  for (i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
      usage(stdout, argv0);
      return 0;
    }
    if (!options_done && strcmp(arg, "--") == 0) {
      options_done = 1;
      continue;
    }
    /* A lone "-" and anything after "--" are arguments; other dashes are unknown options. */
    if (!options_done && arg[0] == '-' && arg[1] != '\0' && n_positional == 0) {
      fprintf(stderr, "%s: unknown option '%s'\n", argv0, arg);
      usage(stderr, argv0);
      return 2;
    }
    if (n_positional == 2) {
      fprintf(stderr, "%s: too many arguments ('%s'); quote a PROMPT with spaces\n", argv0, arg);
      usage(stderr, argv0);
      return 2;
    }
    positional[n_positional++] = arg;
  }
  if (n_positional == 0) {
    fprintf(stderr, "%s: no model given\n", argv0);
    usage(stderr, argv0);
    return 2;
  }
  if (positional[1][0] == '\0') {
    fprintf(stderr, "%s: the prompt is empty\n", argv0);
    return 2;
  }

  status = kite_model_open_file(positional[0], NULL, &model);
  if (status != KITE_OK) {
    fprintf(stderr, "%s: cannot open %s: %s: %s\n", argv0, positional[0],
            kite_status_string(status), kite_last_error());
    return 1;
  }
  kite_session_options_init(&session_options);
  session_options.max_context = 256;
  status = kite_session_memory_required(model, &session_options, &arena_bytes);
  if (status != KITE_OK) {
    fprintf(stderr, "%s: %s\n", argv0, kite_last_error());
    kite_model_close(model);
    return 1;
  }
  /* The caller owns the arena (on firmware: a static buffer); it must be 64-byte aligned. */
  block = malloc(arena_bytes + 63);
  if (block == NULL) {
    fprintf(stderr, "%s: cannot allocate %lu bytes\n", argv0, (unsigned long)arena_bytes);
    kite_model_close(model);
    return 1;
  }
  arena = (void*)(((uintptr_t)block + 63) & ~(uintptr_t)63);
  status = kite_session_create(model, &session_options, arena, arena_bytes, &session);
  if (status != KITE_OK) {
    fprintf(stderr, "%s: %s\n", argv0, kite_last_error());
    free(block);
    kite_model_close(model);
    return 1;
  }
  kite_generate_options_init(&generate_options);
  generate_options.max_tokens = 64;
  stats.struct_size = sizeof(stats);
  fputs(positional[1], stdout);
  status = kite_generate(session, positional[1], &generate_options, print_piece, &count, &stats);
  if (status != KITE_OK) {
    fprintf(stderr, "\n%s: %s\n", argv0, kite_session_last_error(session));
  } else {
    printf("\n[kite %s: %u prompt tokens, %d generated, arena %lu bytes]\n", kite_version(),
           (unsigned)stats.prompt_tokens, count, (unsigned long)arena_bytes);
  }
  kite_session_destroy(session);
  free(block);
  kite_model_close(model);
  return status == KITE_OK ? 0 : 1;
}
