package dev.kite;

/**
 * Receives each generated token with its own bytes, on the generating thread. A piece may
 * end inside a UTF-8 character: decode with {@link Utf8Decoder}, or use {@link TextCallback}
 * which does. An exception thrown here stops the generation and is rethrown by
 * {@code generate} once the native call has returned.
 */
@FunctionalInterface
public interface TokenCallback {
  /**
   * @param token the token id; -1 for a final flush of held-back bytes (the return value
   *     is then ignored)
   * @param piece the token's bytes (owned by the callee)
   * @return true to go on, false to stop (StopReason.CALLBACK)
   */
  boolean onToken(int token, byte[] piece);
}
