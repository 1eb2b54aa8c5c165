package zmtp.driver.jeromq;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the ZAP handler (RFC 27) accepts, from a {@code zap} request (DRV-48), and the reply it
 * builds for one ZAP request. A port of ZapPolicy in drivers/pyzmq/driver.py and of
 * drivers/protocol/src/zap.rs.
 */
final class ZapPolicy {
  /** Answers counted for the {@code zap} reply. */
  static final class Stats {
    long requests;
    long accepted;
    long refused;
  }

  private record Credential(ByteBuffer username, ByteBuffer password) {}

  private final Set<Credential> plain = new HashSet<>();
  private final Set<ByteBuffer> curveKeys = new HashSet<>();
  private final boolean curveAny;
  private final boolean allowNull;
  private final String[] refusal;
  final Stats stats = new Stats();

  /** Validates every field first: a bad request is EINVAL and changes nothing. */
  ZapPolicy(JsonNode req) {
    JsonNode p = req.get("plain");
    if (p != null && !p.isNull()) {
      if (!p.isArray()) {
        throw new Failure("EINVAL", "plain must be a list of {username, password}");
      }
      for (JsonNode c : p) {
        if (!c.isObject()) {
          throw new Failure("EINVAL", "plain must be a list of {username, password}");
        }
        plain.add(
            new Credential(
                ByteBuffer.wrap(textOrHex(c, "username")),
                ByteBuffer.wrap(textOrHex(c, "password"))));
      }
    }
    JsonNode curve = req.get("curve");
    curveAny = curve != null && curve.isTextual() && curve.textValue().equals("any");
    if (curve != null && !curve.isNull() && !curveAny) {
      if (!curve.isArray()) {
        throw new Failure("EINVAL", "curve must be \"any\" or a list of keys");
      }
      for (JsonNode k : curve) {
        byte[] key = k.isTextual() ? Hex.decode(k.textValue(), "curve") : null;
        if (key == null || key.length != 32) {
          throw new Failure("EINVAL", "curve keys are 32 octets of hex");
        }
        curveKeys.add(ByteBuffer.wrap(key));
      }
    }
    JsonNode n = req.get("null");
    if (n != null && !n.isNull() && !n.isBoolean()) {
      throw new Failure("EINVAL", "null must be a boolean");
    }
    allowNull = n != null && n.asBoolean(false);
    JsonNode r = req.get("refuse_status");
    String status = r == null || r.isNull() ? "400" : r.isTextual() ? r.textValue() : "";
    refusal =
        switch (status) {
          case "300" -> new String[] {"300", "Temporary failure"};
          case "400" -> new String[] {"400", "Invalid credentials"};
          case "500" -> new String[] {"500", "Internal error"};
          default ->
              throw new Failure("EINVAL", "refuse_status must be \"300\", \"400\" or \"500\"");
        };
  }

  private static byte[] textOrHex(JsonNode cred, String name) {
    JsonNode hex = cred.get(name + "_hex");
    if (hex != null && hex.isTextual()) {
      return Hex.decode(hex.textValue(), name + "_hex");
    }
    JsonNode text = cred.get(name);
    if (text != null && text.isTextual()) {
      return text.textValue().getBytes(StandardCharsets.UTF_8);
    }
    throw new Failure("EINVAL", "a plain credential needs " + name + " or " + name + "_hex");
  }

  /** The reply frames for one ZAP request; also counts it. */
  List<byte[]> answer(List<byte[]> req) {
    stats.requests++;
    byte[] requestId = req.size() > 1 ? req.get(1) : new byte[0];
    String[] decision;
    byte[] user = new byte[0];
    String mechanism = req.size() > 5 ? new String(req.get(5), StandardCharsets.ISO_8859_1) : "";
    if (req.size() >= 6 && Arrays.equals(req.get(0), ascii("1.0"))) {
      List<byte[]> creds = req.subList(6, req.size());
      user = userIfAccepted(mechanism, creds);
      if (user != null) {
        decision = new String[] {"200", "OK"};
      } else {
        user = new byte[0];
        boolean known = Set.of("NULL", "PLAIN", "CURVE").contains(mechanism);
        decision = known ? refusal : new String[] {"400", "Unsupported mechanism"};
      }
    } else {
      decision = new String[] {"500", "Malformed ZAP request"};
    }
    if (decision[0].equals("200")) {
      stats.accepted++;
    } else {
      stats.refused++;
    }
    Main.log(
        "ZAP request "
            + Hex.encode(requestId)
            + " mechanism "
            + mechanism
            + " -> "
            + decision[0]
            + " "
            + decision[1]);
    List<byte[]> reply = new ArrayList<>();
    reply.add(ascii("1.0"));
    reply.add(requestId);
    reply.add(ascii(decision[0]));
    reply.add(ascii(decision[1]));
    reply.add(user);
    reply.add(new byte[0]);
    return reply;
  }

  /** The user id for an accepted request, or null. */
  private byte[] userIfAccepted(String mechanism, List<byte[]> creds) {
    switch (mechanism) {
      case "NULL" -> {
        return creds.isEmpty() && allowNull ? new byte[0] : null;
      }
      case "PLAIN" -> {
        boolean ok =
            creds.size() == 2
                && plain.contains(
                    new Credential(ByteBuffer.wrap(creds.get(0)), ByteBuffer.wrap(creds.get(1))));
        return ok ? creds.get(0) : null;
      }
      case "CURVE" -> {
        boolean ok =
            creds.size() == 1
                && creds.get(0).length == 32
                && (curveAny || curveKeys.contains(ByteBuffer.wrap(creds.get(0))));
        return ok ? ascii(Hex.encode(creds.get(0))) : null;
      }
      default -> {
        return null;
      }
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
