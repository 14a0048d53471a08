package dev.kite;

/**
 * Options for opening a model (kite_model_options). Setters return {@code this}. Threads
 * are a session option ({@link SessionOptions#threads}), since sessions do the work.
 */
public final class ModelOptions {
  boolean verifyChecksums;
  String maxIsa;
  boolean hugePages;

  /** Check the CRC-32C of every weight segment while opening (reads the whole file). */
  public ModelOptions verifyChecksums(boolean on) {
    this.verifyChecksums = on;
    return this;
  }

  /**
   * Highest instruction set the kernels may use: null or "best" (default), or a lower one
   * to force ("scalar", "neon", "neondot", "i8mm", "avx2", ...), for testing.
   */
  public ModelOptions maxIsa(String isa) {
    this.maxIsa = isa;
    return this;
  }

  /** Read the file into huge-page memory instead of mapping it (see docs/c-api.md). */
  public ModelOptions hugePages(boolean on) {
    this.hugePages = on;
    return this;
  }
}
