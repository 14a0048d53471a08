package dev.kite;

/**
 * Receives the generated text as it grows, in whole characters, on the generating thread.
 * An exception thrown here stops the generation and is rethrown by {@code generateText}.
 */
@FunctionalInterface
public interface TextCallback {
  /**
   * @param text the next piece of text (never empty)
   * @return true to go on, false to stop (StopReason.CALLBACK); ignored for the last call
   *     after the generation ended
   */
  boolean onText(String text);
}
