package dev.kite;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The binding on stories260K (the f32 model the fixture tests convert, which reproduces
 * llama2.c's greedy goldens exactly): goldens, streaming text, cancel, callback exceptions,
 * closed objects and bad input. Paths come from -Dkite.testModels and -Dkite.sharedModels
 * (sdk/bindings/java/CMakeLists.txt).
 */
public class BindingTest {
  private static Model model;

  private static Path testModel(String file) {
    return Paths.get(System.getProperty("kite.testModels"), file);
  }

  @BeforeClass
  public static void openModel() {
    model = Model.open(testModel("stories260K-f32.kite").toString());
  }

  @AfterClass
  public static void closeModel() {
    model.close();
  }

  /** A llama2.c greedy golden (../shared/models/goldens): prompt, its ids, the generated ids. */
  private static final class Golden {
    final String prompt;
    final int[] promptIds;
    final int[] generatedIds;
    final String generatedText;

    Golden(String file) throws IOException {
      String json = Files.readString(
          Paths.get(System.getProperty("kite.sharedModels"), "goldens", file));
      prompt = string(json, "prompt");
      promptIds = ints(json, "prompt_token_ids");
      generatedIds = ints(json, "generated_token_ids");
      generatedText = string(json, "generated_text");
    }

    // The files are plain JSON written by a script: a field is found by its name. Their
    // strings hold ASCII, \n and \" only (checked by the caller's comparisons).
    private static String string(String json, String key) {
      Matcher m = Pattern.compile("\"" + key + "\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
      assertTrue(key, m.find());
      return m.group(1).replace("\\n", "\n").replace("\\\"", "\"");
    }

    private static int[] ints(String json, String key) {
      Matcher m = Pattern.compile("\"" + key + "\":\\s*\\[([^\\]]*)\\]").matcher(json);
      assertTrue(key, m.find());
      return Pattern.compile(",").splitAsStream(m.group(1))
          .map(String::trim).mapToInt(Integer::parseInt).toArray();
    }
  }

  private static int[] toArray(List<Integer> list) {
    return list.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  public void infoDescribesStories260K() {
    ModelInfo info = model.info();
    assertEquals(512, info.vocabSize);
    assertEquals(64, info.dim);
    assertEquals(5, info.layers);
    assertTrue(info.maxSeqLen >= 256);
    assertEquals(1, info.bosId);
    assertTrue(info.fileBytes > 0);
    assertTrue(Model.version().matches("\\d+\\.\\d+\\.\\d+"));
  }

  @Test
  public void greedyGoldensAreReproducedExactly() throws IOException {
    for (String file : new String[] {
        "stories260K-greedy-once_upon_a_time.json", "stories260K-greedy-the_little_dog.json"}) {
      Golden g = new Golden(file);
      assertArrayEquals(file, g.promptIds, model.tokenize(g.prompt, true));
      try (Session s = Session.create(model, new SessionOptions().maxContext(256))) {
        List<Integer> ids = new ArrayList<>();
        GenerateStats stats = s.generate(g.prompt,
            new GenerateOptions().maxTokens(g.generatedIds.length), (token, piece) -> {
              ids.add(token);
              return true;
            });
        assertArrayEquals(file, g.generatedIds, toArray(ids));
        assertEquals(g.promptIds.length, stats.promptTokens);
        assertEquals(g.generatedIds.length, stats.generatedTokens);
        assertEquals(StopReason.MAX_TOKENS, stats.stopReason);
        assertEquals(g.promptIds.length + g.generatedIds.length, s.position());
      }
    }
  }

  @Test
  public void streamedTextIsTheDetokenizedTokens() throws IOException {
    Golden g = new Golden("stories260K-greedy-once_upon_a_time.json");
    GenerateOptions greedy = new GenerateOptions().maxTokens(g.generatedIds.length);
    try (Session s = Session.create(model)) {
      List<Integer> ids = new ArrayList<>();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      s.generate(g.prompt, greedy, (token, piece) -> {
        ids.add(token);
        bytes.writeBytes(piece);
        return true;
      });
      s.reset();
      StringBuilder text = new StringBuilder();
      List<String> pieces = new ArrayList<>();
      s.generateText(g.prompt, greedy, piece -> {
        pieces.add(piece);
        text.append(piece);
        return true;
      });
      String detokenized = model.detokenize(toArray(ids));
      assertEquals(detokenized, text.toString());
      assertEquals(detokenized, new String(bytes.toByteArray(), StandardCharsets.UTF_8));
      assertEquals(g.generatedText, text.toString());
      assertTrue("streamed in pieces", pieces.size() > 10);
    }
  }

  @Test
  public void tokensSplittingACharacterDecodeWhole() {
    // tok512 has no piece for these characters: they become byte tokens, one per UTF-8
    // byte, so single tokens hold parts of characters.
    String text = "caf\u00e9 \u20ac5 \ud83d\ude00!";
    int[] ids = model.tokenize(text, false);
    Utf8Decoder decoder = new Utf8Decoder();
    StringBuilder out = new StringBuilder();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    int partial = 0;
    for (int id : ids) {
      byte[] piece = model.detokenizeBytes(new int[] {id});
      all.writeBytes(piece);
      String alone = new String(piece, StandardCharsets.UTF_8);
      if (alone.contains("\ufffd")) partial++;
      out.append(decoder.decode(piece));
    }
    out.append(decoder.finish());
    assertTrue("some tokens hold part of a character", partial >= 3);
    assertEquals(new String(all.toByteArray(), StandardCharsets.UTF_8), out.toString());
    assertTrue(out.toString(), out.toString().endsWith("caf\u00e9 \u20ac5 \ud83d\ude00!"));
    assertEquals(model.detokenize(ids), out.toString());
  }

  @Test
  public void cancelFromAnotherThreadStopsGeneration() throws Exception {
    try (Session s = Session.create(model, new SessionOptions().maxContext(512))) {
      CountDownLatch started = new CountDownLatch(1);
      Thread canceller = new Thread(() -> {
        try {
          started.await();
          s.cancel();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      canceller.start();
      int[] seen = {0};
      GenerateStats stats = s.generate("Once upon a time",
          new GenerateOptions().maxTokens(400).temperature(1f).seed(7), (token, piece) -> {
            seen[0]++;
            started.countDown();
            if (seen[0] > 300) throw new AssertionError("the cancel never arrived");
            try {
              Thread.sleep(2);  // give the other thread its moment
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return true;
          });
      canceller.join(TimeUnit.SECONDS.toMillis(10));
      assertEquals(StopReason.CANCELLED, stats.stopReason);
      assertEquals(seen[0], stats.generatedTokens);
      assertTrue(stats.generatedTokens < 400);
      // The session goes on after a reset.
      s.reset();
      assertEquals(StopReason.MAX_TOKENS,
          s.generate("Once", new GenerateOptions().maxTokens(5), null).stopReason);
    }
  }

  @Test
  public void callbackExceptionPropagatesAndTheSessionStaysUsable() throws IOException {
    Golden g = new Golden("stories260K-greedy-the_little_dog.json");
    try (Session s = Session.create(model)) {
      RuntimeException boom = new IllegalStateException("boom");
      int[] calls = {0};
      RuntimeException thrown = assertThrows(RuntimeException.class,
          () -> s.generate(g.prompt, new GenerateOptions().maxTokens(50), (token, piece) -> {
            if (++calls[0] == 3) throw boom;
            return true;
          }));
      assertSame(boom, thrown);
      assertEquals("no callback after the one that threw", 3, calls[0]);
      // The tokens before it stay in the context, as with a stop.
      assertEquals(g.promptIds.length + 3, s.position());
      // A text callback's exception too.
      s.reset();
      assertSame(boom, assertThrows(RuntimeException.class,
          () -> s.generateText(g.prompt, null, text -> {
            throw boom;
          })));
      // A call on the session from inside its own callback is refused, not run.
      s.reset();
      assertThrows(IllegalStateException.class,
          () -> s.generate(g.prompt, null, (token, piece) -> {
            s.feed(new int[] {token});
            return true;
          }));
      // After a reset the session gives the golden again.
      s.reset();
      List<Integer> ids = new ArrayList<>();
      s.generate(g.prompt, new GenerateOptions().maxTokens(g.generatedIds.length),
          (token, piece) -> ids.add(token));
      assertArrayEquals(g.generatedIds, toArray(ids));
    }
  }

  @Test
  public void closedObjectsThrowInsteadOfCrashing() {
    int live = NativeHandle.LIVE.get();
    Model m = Model.open(testModel("stories260K-q8.kite").toString());
    Session s = Session.create(m);
    // Closing the model first: the session keeps the native model until it is closed.
    m.close();
    m.close();
    assertThrows(IllegalStateException.class, () -> m.tokenize("a", true));
    assertThrows(IllegalStateException.class, () -> m.detokenize(new int[] {5}));
    assertThrows(IllegalStateException.class, m::info);
    assertThrows(IllegalStateException.class, () -> Session.create(m));
    assertEquals(4, s.generate("Once", new GenerateOptions().maxTokens(4), null).generatedTokens);
    assertEquals("the session holds the model", live + 2, NativeHandle.LIVE.get());
    s.close();
    s.close();
    assertEquals("both freed, once", live, NativeHandle.LIVE.get());
    s.cancel();  // a late "stop" is harmless
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> s.generate("Once", null, null));
    assertTrue(e.getMessage(), e.getMessage().contains("session is closed"));
    assertThrows(IllegalStateException.class, () -> s.feed(new int[] {1}));
    assertThrows(IllegalStateException.class, s::reset);
    assertThrows(IllegalStateException.class, s::position);
  }

  @Test
  public void closingInsideTheCallbackStopsAndFreesOnReturn() {
    int live = NativeHandle.LIVE.get();
    Session s = Session.create(model);
    assertEquals(live + 1, NativeHandle.LIVE.get());
    int[] calls = {0};
    GenerateStats stats = s.generate("Once", new GenerateOptions().maxTokens(50),
        (token, piece) -> {
          if (++calls[0] == 2) s.close();
          return true;
        });
    assertEquals(StopReason.CANCELLED, stats.stopReason);
    assertEquals(2, stats.generatedTokens);
    assertEquals("freed once the call returned", live, NativeHandle.LIVE.get());
    assertThrows(IllegalStateException.class, s::position);
  }

  private static void abandonASession() {
    Session.create(model).generate("Once", new GenerateOptions().maxTokens(2), null);
  }

  @Test
  public void theCleanerFreesWhatWasNeverClosed() throws InterruptedException {
    int live = NativeHandle.LIVE.get();
    abandonASession();
    assertEquals(live + 1, NativeHandle.LIVE.get());
    for (int i = 0; i < 200 && NativeHandle.LIVE.get() != live; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertEquals(live, NativeHandle.LIVE.get());
  }

  @Test
  public void missingOrCorruptModelThrowsNamingTheFile() throws IOException {
    String missing = testModel("no-such-model-\ud83d\ude00.kite").toString();
    KiteException e = assertThrows(KiteException.class, () -> Model.open(missing));
    assertEquals(Status.IO, e.status());
    assertTrue(e.getMessage(), e.getMessage().contains("no-such-model-\ud83d\ude00.kite"));

    Path corrupt = Files.createTempFile("kite-java-corrupt-", ".kite");
    try {
      byte[] junk = new byte[4096];
      for (int i = 0; i < junk.length; i++) junk[i] = (byte) (i * 31 + 7);
      Files.write(corrupt, junk);
      e = assertThrows(KiteException.class, () -> Model.open(corrupt.toString()));
      assertEquals(Status.INVALID_MODEL, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains(corrupt.getFileName().toString()));
    } finally {
      Files.delete(corrupt);
    }
  }

  @Test
  public void absurdOptionsThrowNamingTheOption() {
    KiteException e = assertThrows(KiteException.class,
        () -> Session.create(model, new SessionOptions().threads(-2)));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage(), e.getMessage().contains("threads"));

    e = assertThrows(KiteException.class,
        () -> Session.create(model, new SessionOptions().maxContext(0)));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage(), e.getMessage().contains("max_context"));

    e = assertThrows(KiteException.class,
        () -> Session.create(model, new SessionOptions().maxContext(1 << 20)));
    assertTrue(e.getMessage(), e.getMessage().contains("max_context"));

    try (Session s = Session.create(model)) {
      e = assertThrows(KiteException.class,
          () -> s.generate("Once", new GenerateOptions().maxTokens(-1), null));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("max_tokens"));
      e = assertThrows(KiteException.class,
          () -> s.generate("Once", new GenerateOptions().temperature(Float.NaN), null));
      assertTrue(e.getMessage(), e.getMessage().contains("temperature"));
      e = assertThrows(KiteException.class, () -> s.generate("a\0b", null, null));
      assertTrue(e.getMessage(), e.getMessage().contains("NUL"));
      e = assertThrows(KiteException.class, () -> s.feed(new int[] {1, 100000}));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertEquals(0, s.position());
      e = assertThrows(KiteException.class, () -> model.detokenize(new int[] {-5}));
      assertNotEquals(Status.OK, e.status());
    }
  }

  @Test
  public void contextFullIsReportedAndChangesNothing() {
    try (Session s = Session.create(model, new SessionOptions().maxContext(8))) {
      s.feed(new int[] {1, 403, 407});
      KiteException e = assertThrows(KiteException.class,
          () -> s.feed(new int[] {261, 378, 432, 383, 286, 261, 376}));
      assertEquals(Status.CONTEXT_FULL, e.status());
      assertEquals(3, s.position());
    }
  }
}
