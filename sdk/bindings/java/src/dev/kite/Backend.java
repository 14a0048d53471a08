package dev.kite;

/** Where a session's forward pass runs (kite_backend); see docs/vulkan.md. */
public enum Backend {
  /** The CPU kernels (the default). */
  CPU,
  /** The model's Vulkan device; session creation fails when there is none. */
  VULKAN,
  /** The Vulkan device when it qualifies, else the CPU. */
  AUTO
}
