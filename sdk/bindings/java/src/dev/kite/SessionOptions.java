package dev.kite;

/**
 * Options that size a session (kite_session_options). Setters return {@code this}; the
 * values are checked when the session is created, which fails with a {@link KiteException}
 * ({@link Status#INVALID_ARGUMENT}) naming the option that is out of range.
 */
public final class SessionOptions {
  int maxContext = 512;
  int threads = 1;
  int prefillChunk = 64;
  KvType kvType = KvType.F32;
  Backend backend = Backend.CPU;

  /** Longest prompt + generation in tokens, 1..the model's maxSeqLen. Default 512. */
  public SessionOptions maxContext(int tokens) {
    this.maxContext = tokens;
    return this;
  }

  /** Worker threads, >= 1. Default 1. */
  public SessionOptions threads(int threads) {
    this.threads = threads;
    return this;
  }

  /** Most prompt tokens processed together during prefill, 1..1024. Default 64. */
  public SessionOptions prefillChunk(int tokens) {
    this.prefillChunk = tokens;
    return this;
  }

  /** KV cache element type. Default {@link KvType#F32}. */
  public SessionOptions kvType(KvType type) {
    this.kvType = java.util.Objects.requireNonNull(type, "kvType");
    return this;
  }

  /** Where the forward pass runs. Default {@link Backend#CPU}. */
  public SessionOptions backend(Backend backend) {
    this.backend = java.util.Objects.requireNonNull(backend, "backend");
    return this;
  }

  /** Rejects negative values here: the C API takes them unsigned, where they would wrap. */
  void checkSigns() {
    checkNotNegative("maxContext", maxContext);
    checkNotNegative("threads", threads);
    checkNotNegative("prefillChunk", prefillChunk);
  }

  private static void checkNotNegative(String name, int value) {
    if (value < 0) {
      throw new KiteException(
          Status.INVALID_ARGUMENT, "session option " + name + " is " + value + ": must be >= 1");
    }
  }
}
