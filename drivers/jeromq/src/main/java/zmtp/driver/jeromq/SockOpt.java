package zmtp.driver.jeromq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import zmq.ZMQ;

/**
 * The socket options of spec section 5 that JeroMQ has, with the JeroMQ option number and the
 * Java type its {@code Options.setSocketOpt} casts the value to. {@code connect_timeout} and
 * {@code invert_matching} do not exist in JeroMQ 0.6.0 and are left out (unsupported).
 */
enum SockOpt {
  SNDHWM(ZMQ.ZMQ_SNDHWM, Kind.INT),
  RCVHWM(ZMQ.ZMQ_RCVHWM, Kind.INT),
  LINGER(ZMQ.ZMQ_LINGER, Kind.INT),
  SUBSCRIBE(ZMQ.ZMQ_SUBSCRIBE, Kind.HEX),
  UNSUBSCRIBE(ZMQ.ZMQ_UNSUBSCRIBE, Kind.HEX),
  ROUTING_ID(ZMQ.ZMQ_IDENTITY, Kind.HEX),
  IMMEDIATE(ZMQ.ZMQ_IMMEDIATE, Kind.BOOL),
  RECONNECT_IVL(ZMQ.ZMQ_RECONNECT_IVL, Kind.INT),
  RECONNECT_IVL_MAX(ZMQ.ZMQ_RECONNECT_IVL_MAX, Kind.INT),
  HANDSHAKE_IVL(ZMQ.ZMQ_HANDSHAKE_IVL, Kind.INT),
  HEARTBEAT_IVL(ZMQ.ZMQ_HEARTBEAT_IVL, Kind.INT),
  HEARTBEAT_TTL(ZMQ.ZMQ_HEARTBEAT_TTL, Kind.INT),
  HEARTBEAT_TIMEOUT(ZMQ.ZMQ_HEARTBEAT_TIMEOUT, Kind.INT),
  MAXMSGSIZE(ZMQ.ZMQ_MAXMSGSIZE, Kind.LONG),
  REQ_RELAXED(ZMQ.ZMQ_REQ_RELAXED, Kind.BOOL),
  REQ_CORRELATE(ZMQ.ZMQ_REQ_CORRELATE, Kind.BOOL),
  ROUTER_MANDATORY(ZMQ.ZMQ_ROUTER_MANDATORY, Kind.BOOL),
  ROUTER_HANDOVER(ZMQ.ZMQ_ROUTER_HANDOVER, Kind.BOOL),
  XPUB_NODROP(ZMQ.ZMQ_XPUB_NODROP, Kind.BOOL),
  XPUB_VERBOSE(ZMQ.ZMQ_XPUB_VERBOSE, Kind.BOOL),
  XPUB_VERBOSER(ZMQ.ZMQ_XPUB_VERBOSER, Kind.BOOL),
  XPUB_MANUAL(ZMQ.ZMQ_XPUB_MANUAL, Kind.BOOL),
  PROBE_ROUTER(ZMQ.ZMQ_PROBE_ROUTER, Kind.BOOL),
  CONFLATE(ZMQ.ZMQ_CONFLATE, Kind.BOOL),
  IPV6(ZMQ.ZMQ_IPV6, Kind.BOOL),
  TCP_KEEPALIVE(ZMQ.ZMQ_TCP_KEEPALIVE, Kind.INT),
  TCP_KEEPALIVE_IDLE(ZMQ.ZMQ_TCP_KEEPALIVE_IDLE, Kind.INT),
  TCP_KEEPALIVE_CNT(ZMQ.ZMQ_TCP_KEEPALIVE_CNT, Kind.INT),
  TCP_KEEPALIVE_INTVL(ZMQ.ZMQ_TCP_KEEPALIVE_INTVL, Kind.INT),
  PLAIN_SERVER(ZMQ.ZMQ_PLAIN_SERVER, Kind.BOOL),
  PLAIN_USERNAME(ZMQ.ZMQ_PLAIN_USERNAME, Kind.HEX),
  PLAIN_PASSWORD(ZMQ.ZMQ_PLAIN_PASSWORD, Kind.HEX),
  ZAP_DOMAIN(ZMQ.ZMQ_ZAP_DOMAIN, Kind.HEX),
  SNDBUF(ZMQ.ZMQ_SNDBUF, Kind.INT),
  RCVBUF(ZMQ.ZMQ_RCVBUF, Kind.INT),
  BACKLOG(ZMQ.ZMQ_BACKLOG, Kind.INT),
  SNDTIMEO(ZMQ.ZMQ_SNDTIMEO, Kind.INT),
  RCVTIMEO(ZMQ.ZMQ_RCVTIMEO, Kind.INT),
  CURVE_SERVER(ZMQ.ZMQ_CURVE_SERVER, Kind.BOOL),
  CURVE_PUBLICKEY(ZMQ.ZMQ_CURVE_PUBLICKEY, Kind.HEX),
  CURVE_SECRETKEY(ZMQ.ZMQ_CURVE_SECRETKEY, Kind.HEX),
  CURVE_SERVERKEY(ZMQ.ZMQ_CURVE_SERVERKEY, Kind.HEX);

  /** How a value travels in JSON and which Java type JeroMQ expects. */
  enum Kind {
    INT,
    LONG,
    BOOL,
    HEX
  }

  private static final Map<String, SockOpt> BY_NAME =
      Arrays.stream(values()).collect(Collectors.toMap(SockOpt::wireName, Function.identity()));

  final int number;
  final Kind kind;

  SockOpt(int number, Kind kind) {
    this.number = number;
    this.kind = kind;
  }

  /** The protocol's name: libzmq's option name in lower case, without ZMQ_. */
  String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  boolean isCurve() {
    return name().startsWith("CURVE_");
  }

  static Optional<SockOpt> byName(String name) {
    return Optional.ofNullable(BY_NAME.get(name));
  }

  /** The JSON value as the object JeroMQ casts it to; EINVAL for a value of the wrong kind. */
  Object toJeromq(JsonNode v) {
    String bad = "bad value for " + wireName() + ": " + v;
    switch (kind) {
      case INT, LONG -> {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
          throw new Failure("EINVAL", bad);
        }
        if (kind == Kind.LONG) {
          return v.longValue();
        }
        if (!v.canConvertToInt()) {
          throw new Failure("EINVAL", bad);
        }
        return v.intValue();
      }
      case BOOL -> {
        if (v != null && v.isBoolean()) {
          return v.booleanValue();
        }
        if (v != null && v.isIntegralNumber() && (v.longValue() == 0 || v.longValue() == 1)) {
          return v.longValue() == 1;
        }
        throw new Failure("EINVAL", bad);
      }
      default -> {
        if (v == null || !v.isTextual()) {
          throw new Failure("EINVAL", bad);
        }
        return Hex.decode(v.textValue(), wireName());
      }
    }
  }

  /** A value JeroMQ returned, in the form setsockopt takes. */
  JsonNode fromJeromq(Object value) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    if (value == null) {
      return kind == Kind.HEX ? f.textNode("") : f.nullNode();
    }
    return switch (kind) {
      case INT, LONG -> f.numberNode(((Number) value).longValue());
      case BOOL ->
          f.booleanNode(value instanceof Boolean b ? b : ((Number) value).longValue() != 0);
      case HEX ->
          f.textNode(
              Hex.encode(
                  value instanceof byte[] bytes
                      ? bytes
                      : value.toString().getBytes(StandardCharsets.UTF_8)));
    };
  }
}
