package dev.kite;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * A native handle shared by its owner and the calls running on it. Every call holds a
 * reference while it runs ({@link #acquire}/{@link #release}); {@link #close} drops the
 * owner's. The handle is freed exactly once, by whichever release comes last, so closing
 * on one thread while a call runs on another (or while the Cleaner runs) never frees a
 * handle in use. Thread-safe.
 */
final class NativeHandle {
  /** Native handles not yet freed, in the whole process (the test checks it). */
  static final AtomicInteger LIVE = new AtomicInteger();

  private final String what;
  private final LongConsumer free;
  private long handle;
  private int refs = 1;
  private boolean closed;

  /**
   * @param what the object's name in messages ("model", "session")
   * @param handle the native handle (not 0)
   * @param free frees the handle; called once, on the thread of the last release
   */
  NativeHandle(String what, long handle, LongConsumer free) {
    this.what = what;
    this.handle = handle;
    this.free = free;
    LIVE.incrementAndGet();
  }

  /** Takes a reference for a call: the handle. Throws IllegalStateException when closed. */
  synchronized long acquire() {
    if (closed) throw new IllegalStateException(what + " is closed");
    refs++;
    return handle;
  }

  /** Like {@link #acquire} but returns 0 (and takes nothing) when closed. */
  synchronized long tryAcquire() {
    if (closed) return 0;
    refs++;
    return handle;
  }

  /** Drops a reference taken by {@link #acquire}; the last one frees the handle. */
  void release() {
    long h = 0;
    synchronized (this) {
      if (--refs == 0) {
        h = handle;
        handle = 0;
      }
    }
    if (h != 0) {
      free.accept(h);
      LIVE.decrementAndGet();
    }
  }

  /** Drops the owner's reference, once; later calls do nothing. */
  void close() {
    synchronized (this) {
      if (closed) return;
      closed = true;
    }
    release();
  }

  /** Whether {@link #close} was called. */
  synchronized boolean isClosed() {
    return closed;
  }
}
