package dev.kite;

/** Why a generation stopped (kite_stop_reason, in its order). */
public enum StopReason {
  /** maxTokens were generated. */
  MAX_TOKENS,
  /** The model produced an end token. */
  END_TOKEN,
  /** The callback returned false (or threw). */
  CALLBACK,
  /** The context window filled up. */
  CONTEXT_FULL,
  /** {@link Session#cancel()} was called. */
  CANCELLED,
  /** A stop string was reached (not set by this binding). */
  STOP_STRING
}
