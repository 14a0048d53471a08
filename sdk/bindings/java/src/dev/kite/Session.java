package dev.kite;

import java.lang.ref.Cleaner;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongToIntFunction;

/**
 * A generation session over a {@link Model} (kite_session): one context (KV cache) and its
 * working memory. A session runs one call at a time: a call made while another runs (from
 * another thread, or from inside a callback) throws IllegalStateException. Only
 * {@link #cancel()} and {@link #close()} may be called from any thread at any time. Methods
 * of a closed session throw IllegalStateException. The session keeps its model's native
 * handle alive until it is closed.
 */
public final class Session implements AutoCloseable {
  private final NativeHandle handle;
  private final Cleaner.Cleanable cleanable;
  private final AtomicBoolean busy = new AtomicBoolean();

  private Session(NativeHandle handle) {
    this.handle = handle;
    this.cleanable = Native.CLEANER.register(this, handle::close);
  }

  /**
   * Creates a session with default options.
   *
   * @throws KiteException when it cannot be created
   */
  public static Session create(Model model) {
    return create(model, new SessionOptions());
  }

  /**
   * Creates a session over {@code model}.
   *
   * @param model an open model
   * @param options the session's size, threads, KV type and backend
   * @throws KiteException for options out of range (naming the option) or no memory
   * @throws IllegalStateException when the model is closed
   */
  public static Session create(Model model, SessionOptions options) {
    options.checkSigns();
    NativeHandle modelHandle = model.handleForSession();
    long m = modelHandle.acquire();  // owned by the session from here on
    long[] out = new long[1];
    int status;
    try {
      status = Native.sessionCreate(m, options.maxContext, options.threads,
          options.prefillChunk, options.kvType.ordinal(), options.backend.ordinal(), out);
    } catch (Throwable t) {
      modelHandle.release();
      throw t;
    }
    if (status != Status.OK.code()) {
      KiteException e = Native.failure(status);
      modelHandle.release();
      throw e;
    }
    return new Session(new NativeHandle("session", out[0], s -> {
      Native.sessionDestroy(s);
      modelHandle.release();
    }));
  }

  /**
   * Generates from {@code prompt}, passing each token's bytes to {@code callback}.
   *
   * <p>The prompt (UTF-8; special-token text in it stays text) is appended to the context,
   * then up to maxTokens tokens are generated and appended. A {@link #cancel()} makes the
   * generation stop early and return with {@link StopReason#CANCELLED}.
   *
   * @param prompt text to append first ("" continues the context)
   * @param options generation options, or null for the defaults
   * @param callback receives each token, or null
   * @return the call's figures
   * @throws KiteException for options out of range, a prompt that does not fit the context
   *     ({@link Status#CONTEXT_FULL}) or another failure
   * @throws RuntimeException what the callback threw, after the generation stopped (the
   *     tokens generated before it stay in the context)
   */
  public GenerateStats generate(String prompt, GenerateOptions options, TokenCallback callback) {
    Objects.requireNonNull(prompt, "prompt");
    GenerateOptions o = options != null ? options : new GenerateOptions();
    byte[] promptC = Native.cString(prompt, "prompt");
    Sink sink = new Sink(callback != null ? callback : (token, piece) -> true);
    double[] stats = new double[6];
    long h = enter();
    try {
      int status = Native.generate(h, promptC, o.maxTokens, o.temperature, o.topK, o.topP,
          o.seed, o.addBos, o.minP, o.repetitionPenalty, o.frequencyPenalty,
          o.presencePenalty, o.penaltyLastN, sink, stats);
      sink.rethrow();
      if (status != Status.OK.code() && status != Status.CANCELLED.code()) {
        throw failure(h, status);
      }
      return new GenerateStats(stats);
    } finally {
      leave();
    }
  }

  /**
   * Like {@link #generate(String, GenerateOptions, TokenCallback)}, passing the text in
   * whole characters: the token bytes are decoded by a {@link Utf8Decoder}, so a character
   * split over two tokens arrives once, whole.
   */
  public GenerateStats generateText(String prompt, GenerateOptions options,
      TextCallback callback) {
    Objects.requireNonNull(callback, "callback");
    Utf8Decoder decoder = new Utf8Decoder();
    GenerateStats stats = generate(prompt, options, (token, piece) -> {
      String text = decoder.decode(piece);
      return text.isEmpty() || callback.onText(text);
    });
    String rest = decoder.finish();
    if (!rest.isEmpty()) callback.onText(rest);
    return stats;
  }

  /**
   * Appends {@code tokens} to the context (prefill) without generating.
   *
   * @throws KiteException when they do not fit ({@link Status#CONTEXT_FULL}, nothing
   *     changed), for an id outside the vocabulary, or when cancelled
   */
  public void feed(int[] tokens) {
    Objects.requireNonNull(tokens, "tokens");
    run(h -> Native.sessionFeed(h, tokens));
  }

  /** Empties the context and withdraws a pending {@link #cancel()}. */
  public void reset() {
    run(Native::sessionReset);
  }

  /** Tokens currently in the context. */
  public int position() {
    long h = enter();
    try {
      return Native.sessionPosition(h);
    } finally {
      leave();
    }
  }

  /**
   * Cancels the running {@link #generate} or {@link #feed}, or, when none runs, the next
   * one ({@link #reset()} withdraws it). Callable from any thread, and from a callback.
   * Does nothing once the session is closed (a "stop" racing with close is harmless).
   */
  public void cancel() {
    long h = handle.tryAcquire();
    if (h == 0) return;
    try {
      Native.sessionCancel(h);
    } finally {
      handle.release();
    }
  }

  /**
   * Closes the session; idempotent, callable from any thread. A call running on another
   * thread is cancelled, and the native session is freed when it returns.
   */
  @Override
  public void close() {
    cancel();
    cleanable.clean();
  }

  /** Runs a status-returning call on the handle; a failure throws with the session's error. */
  private void run(LongToIntFunction call) {
    long h = enter();
    try {
      int status = call.applyAsInt(h);
      if (status != Status.OK.code()) throw failure(h, status);
    } finally {
      leave();
    }
  }

  private long enter() {
    long h = handle.acquire();
    if (!busy.compareAndSet(false, true)) {
      handle.release();
      throw new IllegalStateException(
          "session is running another call (a session runs one call at a time)");
    }
    return h;
  }

  private void leave() {
    busy.set(false);
    handle.release();
  }

  private static KiteException failure(long session, int status) {
    return new KiteException(Status.of(status), Native.text(Native.sessionLastError(session)));
  }
}
