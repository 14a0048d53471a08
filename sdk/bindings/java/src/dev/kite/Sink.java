package dev.kite;

/**
 * What the native token callback calls (jni/kite_jni.cc looks up {@link #piece} by name):
 * forwards to the application's callback and catches what it throws, so that no Java
 * exception is pending while C frames are on the stack; {@link #rethrow} raises it once
 * the native call has returned.
 */
final class Sink {
  private final TokenCallback callback;
  private Throwable thrown;

  Sink(TokenCallback callback) {
    this.callback = callback;
  }

  /** Called by the native callback; false stops the generation. */
  boolean piece(int token, byte[] bytes) {
    if (thrown != null) return false;
    try {
      return callback.onToken(token, bytes);
    } catch (Throwable t) {
      thrown = t;
      return false;
    }
  }

  /** Rethrows what the callback threw, if anything. */
  void rethrow() {
    Throwable t = thrown;
    if (t == null) return;
    if (t instanceof RuntimeException) throw (RuntimeException) t;
    if (t instanceof Error) throw (Error) t;
    throw new RuntimeException(t);  // a checked exception thrown sneakily
  }
}
