package dev.kite;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes UTF-8 that arrives in pieces (a token's bytes may end inside a character): the
 * bytes of an incomplete character are held until the piece that completes it. Ill-formed
 * bytes become U+FFFD, as {@code new String(bytes, UTF_8)} would decode the whole text. Not
 * thread-safe (one per generation).
 */
public final class Utf8Decoder {
  private final CharsetDecoder decoder =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE)
          .onUnmappableCharacter(CodingErrorAction.REPLACE);
  // Held bytes of an incomplete character (at most 3) followed by the next piece.
  private ByteBuffer pending = ByteBuffer.allocate(0);

  /** The text the bytes so far complete (may be empty): {@code piece} is appended first. */
  public String decode(byte[] piece) {
    ByteBuffer in = ByteBuffer.allocate(pending.remaining() + piece.length);
    in.put(pending).put(piece).flip();
    CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
    decoder.decode(in, out, false);  // stops before an incomplete character at the end
    pending = in;
    return out.flip().toString();
  }

  /** The text of the held bytes (U+FFFD for an incomplete character), and resets. */
  public String finish() {
    CharBuffer out = CharBuffer.allocate(pending.remaining() + 2);
    decoder.decode(pending, out, true);
    decoder.flush(out);
    decoder.reset();
    pending = ByteBuffer.allocate(0);
    return out.flip().toString();
  }
}
