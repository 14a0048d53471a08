package dev.kite;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;

/**
 * The native methods of libkite_jni (jni/kite_jni.cc), one per C API call, and the helpers
 * every class of the binding shares. Package-private: applications use {@link Model} and
 * {@link Session}. Handles are the C pointers as {@code long}; status-returning methods
 * return the kite_status code and leave the message in kite_last_error() of the calling
 * thread (and the session's), which the caller reads right after, on the same thread.
 */
final class Native {
  private Native() {}

  /** Frees handles an application forgot to close (a safety net; close() is the rule). */
  static final Cleaner CLEANER = Cleaner.create();

  static {
    loadLibrary();
  }

  // -Dkite.jni.library=/path/libkite_jni.so loads that file; otherwise the library is found
  // on java.library.path (on Android: the app's native library folder). Loading native code
  // is a "restricted" method from Java 22 on (run with --enable-native-access=ALL-UNNAMED
  // there to keep the JVM from warning).
  @SuppressWarnings("restricted")
  private static void loadLibrary() {
    String path = System.getProperty("kite.jni.library");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary("kite_jni");
    }
  }

  /** The UTF-8 bytes of {@code s} followed by a NUL, for a C string argument. */
  static byte[] cString(String s, String what) {
    if (s.indexOf('\0') >= 0) {
      throw new KiteException(Status.INVALID_ARGUMENT, what + " contains a NUL character");
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    byte[] c = new byte[utf8.length + 1];
    System.arraycopy(utf8, 0, c, 0, utf8.length);
    return c;
  }

  /** Decodes UTF-8 bytes from the C side (ill-formed sequences become U+FFFD). */
  static String text(byte[] utf8) {
    return new String(utf8, StandardCharsets.UTF_8);
  }

  /** The exception for a failed call: {@code status} with the thread's last error. */
  static KiteException failure(int status) {
    return new KiteException(Status.of(status), text(lastError()));
  }

  static native byte[] version();

  static native byte[] lastError();

  static native byte[] sessionLastError(long session);

  static native int modelOpen(
      byte[] path, boolean verifyChecksums, byte[] maxIsa, boolean hugePages, long[] model);

  static native void modelClose(long model);

  /** Fills {@code out} with 11 values in {@link ModelInfo}'s constructor order. */
  static native int modelInfo(long model, long[] out);

  /** The ids, or null on failure (status[0] and {@link #lastError()} say why). */
  static native int[] tokenize(long model, byte[] text, boolean addBos, int[] status);

  /** The text's bytes, or null on failure (status[0] and {@link #lastError()} say why). */
  static native byte[] detokenize(long model, int[] tokens, int[] status);

  static native int sessionCreate(
      long model, int maxContext, int threads, int prefillChunk, int kvType, int backend,
      long[] session);

  static native void sessionDestroy(long session);

  static native void sessionCancel(long session);

  static native int sessionReset(long session);

  static native int sessionPosition(long session);

  static native int sessionFeed(long session, int[] tokens);

  /**
   * kite_generate with raw pieces: {@code sink} gets each token's bytes. Fills {@code stats}
   * (6 values in {@link GenerateStats}'s constructor order) when the status is OK or
   * CANCELLED.
   */
  static native int generate(
      long session, byte[] prompt, int maxTokens, float temperature, int topK, float topP,
      long seed, boolean addBos, float minP, float repetitionPenalty, float frequencyPenalty,
      float presencePenalty, int penaltyLastN, Sink sink, double[] stats);
}
