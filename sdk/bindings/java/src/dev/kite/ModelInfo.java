package dev.kite;

/** Architecture summary of a model (kite_model_info). Immutable. */
public final class ModelInfo {
  /** Width of the residual stream (embedding size). */
  public final int dim;
  /** Width of the feed-forward layer. */
  public final int hiddenDim;
  /** Transformer layers. */
  public final int layers;
  /** Query heads. */
  public final int heads;
  /** Key/value heads. */
  public final int kvHeads;
  /** Width of one attention head. */
  public final int headDim;
  /** Tokens in the vocabulary. */
  public final int vocabSize;
  /** Longest context the model supports, in tokens. */
  public final int maxSeqLen;
  /** Beginning-of-sequence token id, -1 when absent. */
  public final int bosId;
  /** End-of-sequence token id, -1 when absent. */
  public final int eosId;
  /** Size of the .kite file in bytes. */
  public final long fileBytes;

  ModelInfo(long[] v) {
    dim = (int) v[0];
    hiddenDim = (int) v[1];
    layers = (int) v[2];
    heads = (int) v[3];
    kvHeads = (int) v[4];
    headDim = (int) v[5];
    vocabSize = (int) v[6];
    maxSeqLen = (int) v[7];
    bosId = (int) v[8];
    eosId = (int) v[9];
    fileBytes = v[10];
  }
}
