/* Built against an installed Kite (find_package or pkg-config): opens MODEL, generates 8
 * tokens greedily after "Once upon a time" and prints "tokens: ID..." then the text. */
#include <stdio.h>

#include <kite/kite.h>

static int on_token(const char* piece, int32_t token, void* user) {
  FILE* ids = (FILE*)user;
  fprintf(ids, " %d", (int)token);
  fputs(piece, stderr); /* the text goes to stderr, the ids to stdout */
  return KITE_CONTINUE;
}

int main(int argc, char** argv) {
  kite_model* model = NULL;
  kite_session* session = NULL;
  kite_session_options session_options;
  kite_generate_options options;
  kite_status status;
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.kite\n", argv[0]);
    return 2;
  }
  status = kite_model_open_file(argv[1], NULL, &model);
  if (status != KITE_OK) {
    fprintf(stderr, "open: %s\n", kite_last_error());
    return 1;
  }
  kite_session_options_init(&session_options);
  session_options.max_context = 64;
  status = kite_session_create(model, &session_options, NULL, 0, &session);
  if (status == KITE_OK) {
    kite_generate_options_init(&options);
    options.max_tokens = 8;
    printf("kite %s tokens:", kite_version());
    status = kite_generate(session, "Once upon a time", &options, on_token, stdout, NULL);
    printf("\n");
  }
  if (status != KITE_OK) fprintf(stderr, "generate: %s\n", kite_last_error());
  kite_session_destroy(session);
  kite_model_close(model);
  return status == KITE_OK ? 0 : 1;
}
