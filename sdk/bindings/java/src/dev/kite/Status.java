package dev.kite;

/** Outcome of a Kite call: the C API's kite_status values (stable codes). */
public enum Status {
  OK(0),
  /** An argument or option is out of range or null. */
  INVALID_ARGUMENT(1),
  /** A file could not be opened, mapped or read. */
  IO(2),
  /** The model file is malformed, truncated or corrupted. */
  INVALID_MODEL(3),
  /** The file needs a feature this build lacks. */
  UNSUPPORTED(4),
  /** A buffer is too small, or no memory. */
  OUT_OF_MEMORY(5),
  /** The prompt does not fit the free context. */
  CONTEXT_FULL(6),
  /** Cancelled by the caller. */
  CANCELLED(7),
  /** A bug in Kite. */
  INTERNAL(8);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The kite_status code. */
  public int code() {
    return code;
  }

  /** The status with {@code code}; an unknown code maps to {@link #INTERNAL}. */
  public static Status of(int code) {
    for (Status s : values()) {
      if (s.code == code) return s;
    }
    return INTERNAL;
  }
}
