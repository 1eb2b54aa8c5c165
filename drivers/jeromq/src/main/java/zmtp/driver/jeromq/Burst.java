package zmtp.driver.jeromq;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The burst payload (spec/driver-protocol.md section 6): numbered frames that {@code send_burst}
 * produces and {@code drain} classifies. A port of burst_frame/classify/Drain of the Python driver.
 */
final class Burst {
  static final byte[] MAGIC = {'Z', 'T', 'B', '1'};
  /** magic 4 | seq u64 | index u16 | count u16 | topic_len u16 | 0 u16 | frame_len u32 */
  static final int HEADER = 24;

  static final int MAX_TOPIC = 1024;
  static final int MAX_PARTS = 1024;
  static final int MAX_SIZE = 16 << 20;

  private Burst() {}

  /** Frame {@code index} of message {@code seq} (DRV-51..53). */
  static byte[] frame(byte[] topic, long seq, int index, int count, int size) {
    int topicLen = index == 0 ? topic.length : 0;
    int minimum = topicLen + HEADER;
    int length = Math.max(size, minimum);
    ByteBuffer b = ByteBuffer.allocate(length);
    b.put(topic, 0, topicLen).put(MAGIC).putLong(seq);
    b.putShort((short) index).putShort((short) count);
    b.putShort((short) topicLen).putShort((short) 0);
    b.putInt(length);
    byte[] out = b.array();
    for (int k = minimum; k < length; k++) {
      out[k] = pad(k, seq);
    }
    return out;
  }

  /** The padding octet at frame offset k: (k + seq) mod 256 (DRV-52). */
  private static byte pad(int k, long seq) {
    return (byte) ((k + seq) & 0xff);
  }

  /** What a received message is (DRV-54). */
  enum Kind {
    BURST,
    PARTIAL,
    MALFORMED,
    OTHER
  }

  /** A classified message: its kind, its sequence number and (for BURST) its topic. */
  record Classified(Kind kind, long seq, byte[] topic) {
    static final Classified OTHER = new Classified(Kind.OTHER, 0, null);
  }

  static Classified classify(List<byte[]> parts) {
    if (parts.isEmpty()) {
      return Classified.OTHER;
    }
    byte[] f0 = parts.get(0);
    int t = -1;
    for (int k = 0; k <= Math.min(f0.length - HEADER, MAX_TOPIC); k++) {
      if (hasMagic(f0, k) && u16(f0, k + 16) == k) {
        t = k;
        break;
      }
    }
    if (t < 0) {
      return Classified.OTHER;
    }
    ByteBuffer h0 = ByteBuffer.wrap(f0);
    long seq = h0.getLong(t + 4);
    int count = u16(f0, t + 14);
    if (parts.size() != count) {
      return new Classified(Kind.PARTIAL, seq, null);
    }
    for (int i = 0; i < count; i++) {
      byte[] f = parts.get(i);
      int tl = i == 0 ? t : 0;
      if (f.length < tl + HEADER || !hasMagic(f, tl) || !headerMatches(f, tl, seq, i, count)) {
        return new Classified(Kind.MALFORMED, seq, null);
      }
      for (int k = tl + HEADER; k < f.length; k++) {
        if (f[k] != pad(k, seq)) {
          return new Classified(Kind.MALFORMED, seq, null);
        }
      }
    }
    byte[] topic = new byte[t];
    System.arraycopy(f0, 0, topic, 0, t);
    return new Classified(Kind.BURST, seq, topic);
  }

  private static boolean headerMatches(byte[] f, int tl, long seq, int index, int count) {
    ByteBuffer h = ByteBuffer.wrap(f);
    return h.getLong(tl + 4) == seq
        && u16(f, tl + 12) == index
        && u16(f, tl + 14) == count
        && u16(f, tl + 16) == tl
        && u16(f, tl + 18) == 0
        && (h.getInt(tl + 20) & 0xffffffffL) == f.length;
  }

  private static boolean hasMagic(byte[] f, int at) {
    if (at < 0 || at + MAGIC.length > f.length) {
      return false;
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (f[at + i] != MAGIC[i]) {
        return false;
      }
    }
    return true;
  }

  private static int u16(byte[] f, int at) {
    return ((f[at] & 0xff) << 8) | (f[at + 1] & 0xff);
  }

  /** True if the topic contains the magic (DRV-41 forbids it). */
  static boolean containsMagic(byte[] topic) {
    for (int k = 0; k + MAGIC.length <= topic.length; k++) {
      if (hasMagic(topic, k)) {
        return true;
      }
    }
    return false;
  }

  /** Folds received messages into the drain report (DRV-44). */
  static final class Drain {
    private static final int MAX_KEYS = 64;
    private static final int MAX_RUNS = 10_000;
    private static final int MAX_BAD_SAMPLES = 4;
    private static final int SAMPLE_OCTETS = 256;

    private final int strip;
    private final int otherLimit;
    private final Set<Long> seen = new HashSet<>();
    private Long maxSeq;
    private boolean keysTruncated;
    private long messages;
    private long count;
    private long duplicates;
    private long regressions;
    private long partial;
    private long malformed;
    private boolean runsTruncated;
    private final List<long[]> runs = new java.util.ArrayList<>();
    private final List<List<byte[]>> badSamples = new java.util.ArrayList<>();
    private final Map<String, Long> topics = new LinkedHashMap<>();
    private long other;
    private final List<List<byte[]>> otherSamples = new java.util.ArrayList<>();
    private final Map<String, Long> prefixes = new LinkedHashMap<>();

    Drain(int strip, int otherLimit) {
      this.strip = strip;
      this.otherLimit = otherLimit;
    }

    long messages() {
      return messages;
    }

    void push(List<byte[]> parts) {
      messages++;
      List<byte[]> body = parts;
      if (strip > 0) {
        int n = Math.min(strip, parts.size());
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < n; i++) {
          key.append(i > 0 ? "," : "").append(Hex.encode(parts.get(i)));
        }
        bump(prefixes, key.toString());
        body = parts.subList(n, parts.size());
      }
      Classified c = classify(body);
      switch (c.kind()) {
        case BURST -> pushBurst(c);
        case PARTIAL, MALFORMED -> {
          if (c.kind() == Kind.PARTIAL) {
            partial++;
          } else {
            malformed++;
          }
          if (badSamples.size() < MAX_BAD_SAMPLES) {
            badSamples.add(parts);
          }
        }
        case OTHER -> {
          other++;
          if (otherSamples.size() < otherLimit) {
            otherSamples.add(parts);
          }
        }
      }
    }

    private void pushBurst(Classified c) {
      long seq = c.seq();
      count++;
      bump(topics, Hex.encode(c.topic()));
      if (!seen.add(seq)) {
        duplicates++;
      }
      if (maxSeq != null && Long.compareUnsigned(seq, maxSeq) <= 0) {
        regressions++;
      }
      if (maxSeq == null || Long.compareUnsigned(seq, maxSeq) > 0) {
        maxSeq = seq;
      }
      long[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
      if (last != null && last[1] + 1 == seq) {
        last[1] = seq;
      } else if (runs.size() >= MAX_RUNS) {
        runsTruncated = true;
      } else {
        runs.add(new long[] {seq, seq});
      }
    }

    private void bump(Map<String, Long> map, String key) {
      if (map.containsKey(key) || map.size() < MAX_KEYS) {
        map.merge(key, 1L, Long::sum);
      } else {
        keysTruncated = true;
      }
    }

    ObjectNode report(String stopped, long elapsedUs) {
      JsonNodeFactory f = JsonNodeFactory.instance;
      ObjectNode burst = f.objectNode();
      burst.put("count", count);
      ArrayNode seqRuns = burst.putArray("seq_runs");
      for (long[] r : runs) {
        seqRuns.addArray().add(r[0]).add(r[1]);
      }
      burst.put("runs_truncated", runsTruncated);
      burst.put("duplicates", duplicates);
      burst.put("regressions", regressions);
      burst.put("partial", partial);
      burst.put("malformed", malformed);
      ArrayNode bad = burst.putArray("bad_samples_hex");
      for (List<byte[]> m : badSamples) {
        ArrayNode frames = bad.addArray();
        for (byte[] p : m) {
          frames.add(Hex.encode(p, SAMPLE_OCTETS));
        }
      }
      ObjectNode topicCounts = burst.putObject("topics");
      topics.forEach(topicCounts::put);

      ObjectNode out = f.objectNode();
      out.put("messages", messages);
      out.put("stopped", stopped);
      out.put("elapsed_us", elapsedUs);
      out.set("burst", burst);
      out.put("other", other);
      ArrayNode otherHex = out.putArray("other_hex");
      for (List<byte[]> m : otherSamples) {
        ArrayNode frames = otherHex.addArray();
        m.forEach(p -> frames.add(Hex.encode(p)));
      }
      ObjectNode prefixCounts = out.putObject("prefixes");
      prefixes.forEach(prefixCounts::put);
      out.put("keys_truncated", keysTruncated);
      return out;
    }
  }
}
