package dev.kite;

/**
 * A Kite call failed: {@link #status()} says how, the message says why (the C API's
 * kite_last_error() or kite_session_last_error(), e.g. naming the file or the option that
 * was wrong). Unchecked, like the other failures of a call's arguments.
 */
public class KiteException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;

  /**
   * @param status the failure's status
   * @param message why it failed
   */
  public KiteException(Status status, String message) {
    super(message.isEmpty() ? status.name() : message);
    this.status = status;
  }

  /** How the call failed. */
  public Status status() {
    return status;
  }
}
