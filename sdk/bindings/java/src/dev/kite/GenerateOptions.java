package dev.kite;

/**
 * Options of one generation (kite_generate_options; see kite.h for the sampling order).
 * Setters return {@code this}. Values out of range fail the generation, before anything is
 * generated, with a {@link KiteException} ({@link Status#INVALID_ARGUMENT}) naming the C
 * field (e.g. "max_tokens").
 */
public final class GenerateOptions {
  int maxTokens = 256;
  float temperature = 0f;
  int topK = 0;
  float topP = 1f;
  long seed = 0;
  boolean addBos = true;
  float minP = 0f;
  float repetitionPenalty = 1f;
  float frequencyPenalty = 0f;
  float presencePenalty = 0f;
  int penaltyLastN = 64;

  /** Most tokens to generate, >= 0. Default 256. */
  public GenerateOptions maxTokens(int n) {
    this.maxTokens = n;
    return this;
  }

  /** 0 = greedy (default); otherwise 0 < t <= 100. */
  public GenerateOptions temperature(float t) {
    this.temperature = t;
    return this;
  }

  /** Keep the k most likely tokens; 0 = off (default). */
  public GenerateOptions topK(int k) {
    this.topK = k;
    return this;
  }

  /** Nucleus sampling mass in (0, 1]; 1 = off (default). */
  public GenerateOptions topP(float p) {
    this.topP = p;
    return this;
  }

  /** Random seed for sampling (an unsigned 64-bit value). Default 0. */
  public GenerateOptions seed(long seed) {
    this.seed = seed;
    return this;
  }

  /** Start an empty session with BOS. Default true. */
  public GenerateOptions addBos(boolean on) {
    this.addBos = on;
    return this;
  }

  /** Keep tokens at least minP times as likely as the most likely one, in [0, 1]. */
  public GenerateOptions minP(float p) {
    this.minP = p;
    return this;
  }

  /** Repetition penalty in (0, 100]; 1 = off (default). */
  public GenerateOptions repetitionPenalty(float p) {
    this.repetitionPenalty = p;
    return this;
  }

  /** Subtracted per occurrence in the window, in [0, 100]; 0 = off (default). */
  public GenerateOptions frequencyPenalty(float p) {
    this.frequencyPenalty = p;
    return this;
  }

  /** Subtracted once for a token in the window, in [0, 100]; 0 = off (default). */
  public GenerateOptions presencePenalty(float p) {
    this.presencePenalty = p;
    return this;
  }

  /** Tokens the penalties look back over, 0..1024. Default 64. */
  public GenerateOptions penaltyLastN(int n) {
    this.penaltyLastN = n;
    return this;
  }
}
