package dev.kite;

/** Element type of a session's KV cache (kite_kv_type). */
public enum KvType {
  /** f32 keys and values: exact (the default). */
  F32,
  /** int8 keys and values with a per-head scale: about a quarter of the memory. */
  INT8
}
