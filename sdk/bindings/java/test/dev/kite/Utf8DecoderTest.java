package dev.kite;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.Test;

/** Utf8Decoder joins characters split across pieces and decodes like String(bytes, UTF_8). */
public class Utf8DecoderTest {
  private static String decodeInPieces(byte[] bytes, int... cuts) {
    Utf8Decoder d = new Utf8Decoder();
    StringBuilder out = new StringBuilder();
    int from = 0;
    for (int cut : cuts) {
      out.append(d.decode(Arrays.copyOfRange(bytes, from, cut)));
      from = cut;
    }
    out.append(d.decode(Arrays.copyOfRange(bytes, from, bytes.length)));
    return out.append(d.finish()).toString();
  }

  @Test
  public void everySplitOfMultiByteCharactersDecodesWhole() {
    // 1-, 2-, 3- and 4-byte characters (U+1F600 is a surrogate pair in Java).
    String text = "a\u00e9\u20ac\ud83d\ude00b";
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i <= bytes.length; i++) {
      for (int j = i; j <= bytes.length; j++) {
        assertEquals("cuts " + i + "," + j, text, decodeInPieces(bytes, i, j));
      }
    }
  }

  @Test
  public void aPieceThatEndsInsideACharacterYieldsNothingForIt() {
    byte[] euro = "\u20ac".getBytes(StandardCharsets.UTF_8);  // E2 82 AC
    Utf8Decoder d = new Utf8Decoder();
    assertEquals("x", d.decode(new byte[] {'x', euro[0]}));
    assertEquals("", d.decode(new byte[] {euro[1]}));
    assertEquals("\u20acy", d.decode(new byte[] {euro[2], 'y'}));
    assertEquals("", d.finish());
  }

  @Test
  public void illFormedBytesDecodeAsStringWould() {
    byte[][] cases = {
      {(byte) 0xff, 'a'},  // never valid
      {(byte) 0xc3, 'a'},  // a lead byte without its continuation
      {'a', (byte) 0x80},  // a stray continuation byte
      {'a', (byte) 0xe2, (byte) 0x82},  // a character cut off at the end
    };
    for (byte[] bytes : cases) {
      String whole = new String(bytes, StandardCharsets.UTF_8);
      for (int cut = 0; cut <= bytes.length; cut++) {
        assertEquals(whole, decodeInPieces(bytes, cut));
      }
    }
  }

  @Test
  public void oneByteAtATime() {
    String text = "\u00fcber \ud83d\ude80 \u4e2d\u6587";
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    Utf8Decoder d = new Utf8Decoder();
    StringBuilder out = new StringBuilder();
    for (byte b : bytes) {
      out.append(d.decode(new byte[] {b}));
    }
    assertEquals(text, out.append(d.finish()).toString());
  }
}
