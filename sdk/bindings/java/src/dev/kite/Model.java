package dev.kite;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An opened .kite model (kite_model): immutable, shared by any number of threads and
 * sessions. Close it when done ({@link AutoCloseable}); the native model is freed once the
 * model and every {@link Session} created from it are closed, so closing the model first
 * is safe. Methods of a closed model throw IllegalStateException. A model that is never
 * closed is freed by a Cleaner once unreachable, which is a safety net, not a substitute.
 */
public final class Model implements AutoCloseable {
  private final NativeHandle handle;
  private final Cleaner.Cleanable cleanable;
  private final ModelInfo info;

  private Model(long h) {
    NativeHandle nh = new NativeHandle("model", h, Native::modelClose);
    this.handle = nh;
    this.cleanable = Native.CLEANER.register(this, nh::close);
    long[] v = new long[11];
    int status = Native.modelInfo(h, v);
    if (status != Status.OK.code()) {
      KiteException e = Native.failure(status);
      close();
      throw e;
    }
    this.info = new ModelInfo(v);
  }

  /**
   * Opens the .kite file at {@code path} with default options.
   *
   * @throws KiteException when it cannot be opened (the message names the file and why)
   */
  public static Model open(String path) {
    return open(path, new ModelOptions());
  }

  /**
   * Opens the .kite file at {@code path} by memory-mapping it.
   *
   * @param path the file (on Android: a file in app storage, not a compressed asset)
   * @param options open options
   * @throws KiteException when it cannot be opened (the message names the file and why)
   */
  public static Model open(String path, ModelOptions options) {
    Objects.requireNonNull(path, "path");
    byte[] isa = options.maxIsa == null ? null : Native.cString(options.maxIsa, "maxIsa");
    long[] out = new long[1];
    int status = Native.modelOpen(
        Native.cString(path, "path"), options.verifyChecksums, isa, options.hugePages, out);
    if (status != Status.OK.code()) {
      // Some failures (a bad identifier, a bad checksum) describe the content without
      // naming the file; the exception always names it.
      KiteException e = Native.failure(status);
      if (e.getMessage().contains(path)) throw e;
      throw new KiteException(e.status(), path + ": " + e.getMessage());
    }
    return new Model(out[0]);
  }

  /** The library version, e.g. "0.1.0". */
  public static String version() {
    return Native.text(Native.version());
  }

  /** The model's architecture summary (read once when it was opened). */
  public ModelInfo info() {
    ensureOpen();
    return info;
  }

  /**
   * Encodes {@code text} into token ids, BOS first when {@code addBos}. Thread-safe.
   *
   * @throws KiteException on failure
   */
  public int[] tokenize(String text, boolean addBos) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    long h = handle.acquire();
    try {
      int[] status = new int[1];
      int[] ids = Native.tokenize(h, utf8, addBos, status);
      if (ids == null) throw Native.failure(status[0]);
      return ids;
    } finally {
      handle.release();
    }
  }

  /**
   * The bytes of {@code tokens}' text. A single token's bytes may be part of a UTF-8
   * character; {@link Utf8Decoder} joins such pieces. Thread-safe.
   *
   * @throws KiteException for an id outside the vocabulary
   */
  public byte[] detokenizeBytes(int[] tokens) {
    Objects.requireNonNull(tokens, "tokens");
    long h = handle.acquire();
    try {
      int[] status = new int[1];
      byte[] text = Native.detokenize(h, tokens, status);
      if (text == null) throw Native.failure(status[0]);
      return text;
    } finally {
      handle.release();
    }
  }

  /**
   * The text of {@code tokens} (ill-formed UTF-8 becomes U+FFFD). Thread-safe.
   *
   * @throws KiteException for an id outside the vocabulary
   */
  public String detokenize(int[] tokens) {
    return Native.text(detokenizeBytes(tokens));
  }

  /** Closes the model; idempotent. Sessions still open keep the native model until closed. */
  @Override
  public void close() {
    cleanable.clean();
  }

  /** The handle for a session being created, with a reference the session then owns. */
  NativeHandle handleForSession() {
    return handle;
  }

  private void ensureOpen() {
    if (handle.isClosed()) throw new IllegalStateException("model is closed");
  }
}
