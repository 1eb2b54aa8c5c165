package zmtp.driver.jeromq;

import java.util.HexFormat;

/** Binary data travels as lowercase hex; upper-case digits are accepted too (DRV-10). */
final class Hex {
  private static final HexFormat LOWER = HexFormat.of();

  private Hex() {}

  static String encode(byte[] data) {
    return LOWER.formatHex(data);
  }

  /** The first {@code limit} octets of {@code data}, as hex. */
  static String encode(byte[] data, int limit) {
    return LOWER.formatHex(data, 0, Math.min(limit, data.length));
  }

  /** Decodes hex of either case; throws {@link Failure} EINVAL for anything else. */
  static byte[] decode(String text, String field) {
    try {
      return LOWER.parseHex(text);
    } catch (IllegalArgumentException e) {
      throw new Failure("EINVAL", "bad hex in " + field + ": " + e.getMessage());
    }
  }
}
