package dev.kite;

/** Figures of one generation (kite_generate_stats). Immutable. */
public final class GenerateStats {
  /** Tokens the prompt added to the context (BOS included). */
  public final int promptTokens;
  /** Tokens generated (passed to the callback). */
  public final int generatedTokens;
  /** Why generation stopped. */
  public final StopReason stopReason;
  /** Time to process the prompt, in milliseconds. */
  public final double prefillMs;
  /** Time from the prompt's end to the last token, in milliseconds. */
  public final double decodeMs;
  /** Time from the call to the first token, in milliseconds. */
  public final double firstTokenMs;

  GenerateStats(double[] v) {
    promptTokens = (int) v[0];
    generatedTokens = (int) v[1];
    StopReason[] reasons = StopReason.values();
    int r = (int) v[2];
    stopReason = r >= 0 && r < reasons.length ? reasons[r] : StopReason.CALLBACK;
    prefillMs = v[3];
    decodeMs = v[4];
    firstTokenMs = v[5];
  }
}
