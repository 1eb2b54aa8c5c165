package zmtp.driver.jeromq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One request (DRV-06): its id, its op and typed access to its fields. A missing or ill-typed
 * required field is {@link Failure} EINVAL (DRV-11); an absent or null optional field takes the
 * documented default.
 */
record Request(long id, String op, ObjectNode body) {

  private JsonNode field(String name) {
    JsonNode v = body.get(name);
    return v == null || v.isNull() ? null : v;
  }

  boolean has(String name) {
    return field(name) != null;
  }

  JsonNode raw(String name) {
    return field(name);
  }

  String string(String name) {
    JsonNode v = field(name);
    if (v == null || !v.isTextual()) {
      throw new Failure("EINVAL", "field " + name + " must be a string");
    }
    return v.textValue();
  }

  long integer(String name) {
    JsonNode v = field(name);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new Failure("EINVAL", "field " + name + " must be an integer");
    }
    return v.longValue();
  }

  long integer(String name, long dflt) {
    return has(name) ? integer(name) : dflt;
  }

  /** A non-negative integer field (counts, milliseconds). */
  long count(String name, long dflt) {
    long v = integer(name, dflt);
    if (v < 0) {
      throw new Failure("EINVAL", "field " + name + " must not be negative");
    }
    return v;
  }

  boolean bool(String name, boolean dflt) {
    JsonNode v = field(name);
    if (v == null) {
      return dflt;
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    if (v.isIntegralNumber() && (v.longValue() == 0 || v.longValue() == 1)) {
      return v.longValue() == 1;
    }
    throw new Failure("EINVAL", "field " + name + " must be a boolean");
  }

  byte[] hex(String name) {
    return Hex.decode(string(name), name);
  }

  byte[] hex(String name, byte[] dflt) {
    return has(name) ? hex(name) : dflt;
  }

  List<byte[]> hexList(String name, boolean required) {
    JsonNode v = field(name);
    if (v == null && !required) {
      return List.of();
    }
    if (v == null || !v.isArray()) {
      throw new Failure("EINVAL", "field " + name + " must be a list of hex strings");
    }
    List<byte[]> out = new ArrayList<>(v.size());
    for (JsonNode p : v) {
      if (!p.isTextual()) {
        throw new Failure("EINVAL", "field " + name + " must be a list of hex strings");
      }
      out.add(Hex.decode(p.textValue(), name));
    }
    return out;
  }
}
