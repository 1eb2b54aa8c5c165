package zmtp.driver.jeromq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.zeromq.SocketType;
import org.zeromq.UncheckedZMQException;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;
import zmq.Msg;
import zmq.SocketBase;
import zmq.ZError;
import zmq.poll.PollItem;

/**
 * The socket thread: owns the JeroMQ context and every socket, runs one op per request
 * (spec/driver-protocol.md section 4) and, while idle or waiting inside an op, polls for at most
 * {@value #TICK_MS} ms over the wake pipe, the monitors and the ZAP handler, touching every socket
 * each turn (DRV-21). Nothing else touches a socket.
 */
final class Driver {
  static final int TICK_MS = 20;
  /** The longest wait on a thread-safe socket before the monitors and ZAP are served again. */
  static final int SAFE_TICK_MS = 5;
  static final String VERSION = "0.1.0";
  private static final String ZAP_ENDPOINT = "inproc://zeromq.zap.01";
  private static final int MAX_EVENTS = 10_000;
  private static final List<String> SOCKET_TYPES =
      List.of(
          "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
          "STREAM", "RADIO", "DISH", "CLIENT", "SERVER", "SCATTER", "GATHER", "PEER", "CHANNEL");
  /** libzmq's event names (without ZMQ_EVENT_, lower case) by event bit; bit 15 is JeroMQ's. */
  private static final Map<Integer, String> EVENT_NAMES = eventNames();

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /** One operation of the protocol. */
  @FunctionalInterface
  interface Handler {
    Reply handle(Request req);
  }

  /** A reply's result and its op-specific fields. */
  record Reply(String result, ObjectNode fields) {
    static Reply ok(ObjectNode fields) {
      return new Reply("ok", fields);
    }

    static Reply ok() {
      return ok(JSON.objectNode());
    }
  }

  /** A socket of the case, its monitor's reading end and the buffered events. */
  private static final class Entry {
    final ZMQ.Socket sock;
    final ZMQ.Socket monitor;
    final ArrayDeque<ObjectNode> events = new ArrayDeque<>();
    long dropped;

    Entry(ZMQ.Socket sock, ZMQ.Socket monitor) {
      this.sock = sock;
      this.monitor = monitor;
    }

    SocketBase base() {
      return sock.base();
    }
  }

  /** The installed ZAP handler: a REP socket at {@value #ZAP_ENDPOINT} and its policy. */
  private record Zap(ZMQ.Socket sock, ZapPolicy policy) {}

  /** A received message, its group (DISH) and its routing id (SERVER, PEER; else 0). */
  private record Received(List<byte[]> parts, String group, int routingId) {}

  private final ObjectMapper mapper = new ObjectMapper();
  private final ZMQ.Context ctx = ZMQ.context(1);
  private final Selector selector = ctx.selector();
  private final Pipe.SourceChannel wake;
  private final AtomicBoolean stop;
  private final Map<String, Handler> ops = new LinkedHashMap<>();
  private final Map<String, Entry> sockets = new LinkedHashMap<>();
  private final long t0 = System.nanoTime();
  private final boolean hasCurve = Main.curveWorks();
  private Zap zap;
  private int next;

  Driver(Pipe.SourceChannel wake, AtomicBoolean stop) throws IOException {
    this.wake = wake;
    this.stop = stop;
    wake.configureBlocking(false);
    ops.put("hello", this::hello);
    ops.put("socket", this::socket);
    ops.put("setsockopt", this::setsockopt);
    ops.put("getsockopt", this::getsockopt);
    ops.put("bind", this::bind);
    ops.put("connect", this::connect);
    ops.put("disconnect", r -> endpointOff(r, "disconnect"));
    ops.put("unbind", r -> endpointOff(r, "unbind"));
    ops.put("send", this::send);
    ops.put("send_part", this::sendPart);
    ops.put("send_burst", this::sendBurst);
    ops.put("recv", this::recv);
    ops.put("drain", this::drain);
    ops.put("events", this::events);
    ops.put("close", this::close);
    ops.put("zap", this::zap);
    ops.put("join", r -> group(r, true));
    ops.put("leave", r -> group(r, false));
    ops.put("echo", this::echo);
    ops.put("ping_pong", this::pingPong);
    ops.put("exit", r -> Reply.ok());
  }

  // ---- the loop ---------------------------------------------------------------------------

  /** Runs requests from {@code lines} (empty = end of input) until exit, EOF or a signal. */
  void run(BlockingQueue<Optional<String>> lines) {
    while (!stop.get()) {
      Optional<String> line = lines.poll();
      if (line == null) {
        service(TICK_MS, null);
        continue;
      }
      if (line.isEmpty()) {
        Main.log("EOF on stdin, shutting down");
        break;
      }
      String text = line.get().strip();
      if (text.isEmpty()) {
        continue;
      }
      Handled h = handle(text);
      Main.reply(h.reply());
      if (h.exit()) {
        break;
      }
    }
    if (stop.get()) {
      Main.log("signal: shutting down");
    }
    shutdown();
  }

  /** A reply, and whether the driver shuts down after writing it ({@code exit}). */
  record Handled(ObjectNode reply, boolean exit) {
    Handled(ObjectNode reply) {
      this(reply, false);
    }
  }

  /** One request line to its reply (DRV-06..12). */
  Handled handle(String line) {
    JsonNode node;
    try {
      node = mapper.readTree(line);
    } catch (IOException e) {
      return new Handled(error(null, "EPROTO", "not JSON: " + e.getMessage()));
    }
    JsonNode id = node == null ? null : node.get("id");
    JsonNode op = node == null ? null : node.get("op");
    if (node == null
        || !node.isObject()
        || id == null
        || !id.isIntegralNumber()
        || !id.canConvertToLong()
        || id.longValue() < 0
        || id.longValue() >= (1L << 53)
        || op == null
        || !op.isTextual()) {
      return new Handled(
          error(null, "EPROTO", "a request is an object with an integer id and a string op"));
    }
    Request req = new Request(id.longValue(), op.textValue(), (ObjectNode) node);
    Handler handler = ops.get(req.op());
    if (handler == null) {
      return new Handled(
          reply(req.id(), "unsupported", message("unknown op \"" + req.op() + "\"")));
    }
    return new Handled(execute(handler, req), req.op().equals("exit"));
  }

  /** Runs one op; every exception becomes an {@code unsupported} or {@code error} reply. */
  private ObjectNode execute(Handler handler, Request req) {
    try {
      Reply r = handler.handle(req);
      return reply(req.id(), r.result(), r.fields());
    } catch (Unsupported e) {
      return reply(req.id(), "unsupported", message(e.getMessage()));
    } catch (Failure e) {
      return error(req.id(), e.code(), e.getMessage());
    } catch (ZMQException e) {
      return error(req.id(), Errno.name(e.getErrorCode()), e.getMessage());
    } catch (ZError.CtxTerminatedException e) {
      return error(req.id(), "ETERM", "context terminated");
    } catch (ZError.IOException e) {
      int code = e.getCause() instanceof IOException io ? ZError.exccode(io) : ZError.EIOEXC;
      return error(req.id(), Errno.name(code), String.valueOf(e.getCause()));
    } catch (UncheckedZMQException e) {
      return error(req.id(), "EDRIVER", e.toString());
    } catch (IllegalArgumentException | ClassCastException e) {
      return error(req.id(), "EINVAL", "JeroMQ refused the value: " + e);
    } catch (UnsupportedOperationException e) {
      return error(req.id(), "ENOTSUP", "JeroMQ: " + e);
    } catch (RuntimeException e) {
      Main.log("driver fault in " + req.op() + ": " + e);
      return error(req.id(), "EDRIVER", e.toString());
    }
  }

  private static ObjectNode message(String text) {
    return JSON.objectNode().put("message", text);
  }

  private static ObjectNode reply(Long id, String result, ObjectNode fields) {
    ObjectNode out = JSON.objectNode();
    if (id == null) {
      out.putNull("id");
    } else {
      out.put("id", id);
    }
    out.put("result", result);
    fields.fieldNames().forEachRemaining(n -> out.set(n, fields.get(n)));
    return out;
  }

  private static ObjectNode error(Long id, String code, String text) {
    return reply(id, "error", JSON.objectNode().put("code", code).put("message", text));
  }

  /**
   * One poll turn over the wake pipe, the monitors, the ZAP handler and {@code extra}, for at most
   * {@code timeoutMs}; then answers ZAP requests, lets every socket process its commands (a read
   * of ZMQ_EVENTS) and buffers monitor events.
   */
  private void service(long timeoutMs, PollItem extra) {
    List<PollItem> items = new ArrayList<>();
    PollItem wakeItem = new PollItem(wake, zmq.ZMQ.ZMQ_POLLIN);
    items.add(wakeItem);
    sockets.values().forEach(e -> items.add(new PollItem(e.monitor.base(), zmq.ZMQ.ZMQ_POLLIN)));
    if (zap != null) {
      items.add(new PollItem(zap.sock().base(), zmq.ZMQ.ZMQ_POLLIN));
    }
    if (extra != null) {
      items.add(extra);
    }
    zmq.ZMQ.poll(selector, items.toArray(new PollItem[0]), timeoutMs);
    if (wakeItem.isReadable()) {
      drainWake();
    }
    answerZap();
    long now = System.nanoTime();
    for (Entry e : sockets.values()) {
      e.base().getSocketOpt(zmq.ZMQ.ZMQ_EVENTS);
      readEvents(e, now);
    }
  }

  private void drainWake() {
    ByteBuffer buf = ByteBuffer.allocate(64);
    try {
      while (wake.read(buf) > 0) {
        buf.clear();
      }
    } catch (IOException e) {
      Main.log("wake pipe: " + e);
    }
  }

  /** Waits one turn for {@code events} on {@code s}; false after the deadline or a signal. */
  private boolean await(SocketBase s, int events, long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0 || stop.get()) {
      return false;
    }
    long ms = Math.min(TICK_MS, left / 1_000_000 + 1);
    if (s.getFD() == null) {
      // The thread-safe types (CLIENT, SERVER, RADIO, DISH, ...) have no file descriptor, and a
      // poll set holding one throws a NullPointerException from inside JeroMQ. Such a socket
      // waits on itself, in short turns, so the monitors and the ZAP handler are still served.
      service(0, null);
      s.poll(events, (int) Math.min(ms, SAFE_TICK_MS), null);
    } else {
      service(ms, new PollItem(s, events));
    }
    return true;
  }

  private static long deadline(long timeoutMs) {
    return System.nanoTime() + timeoutMs * 1_000_000;
  }

  private long sinceStartUs() {
    return (System.nanoTime() - t0) / 1000;
  }

  // ---- monitor events ---------------------------------------------------------------------

  private static Map<Integer, String> eventNames() {
    Map<Integer, String> m = new LinkedHashMap<>();
    String[] names = {
      "connected", "connect_delayed", "connect_retried", "listening", "bind_failed", "accepted",
      "accept_failed", "closed", "close_failed", "disconnected", "monitor_stopped",
      "handshake_failed_no_detail", "handshake_succeeded", "handshake_failed_protocol",
      "handshake_failed_auth", "handshake_protocol"
    };
    for (int bit = 0; bit < names.length; bit++) {
      m.put(1 << bit, names[bit]);
    }
    return m;
  }

  private void readEvents(Entry e, long now) {
    while (true) {
      zmq.ZMQ.Event ev = zmq.ZMQ.Event.read(e.monitor.base(), zmq.ZMQ.ZMQ_DONTWAIT);
      if (ev == null) {
        return;
      }
      if (e.events.size() >= MAX_EVENTS) {
        e.events.removeFirst();
        e.dropped++;
      }
      ObjectNode o = JSON.objectNode();
      o.put("event", EVENT_NAMES.getOrDefault(ev.event, "event_" + ev.event));
      o.put("value", ev.arg instanceof Integer i ? i.intValue() : 0);
      o.put("endpoint", ev.addr == null ? "" : ev.addr);
      o.put("at_us", (now - t0) / 1000);
      e.events.addLast(o);
    }
  }

  // ---- ZAP --------------------------------------------------------------------------------

  /** Answers every pending ZAP request (DRV-49): JeroMQ's handshake waits for the reply. */
  private void answerZap() {
    while (zap != null) {
      SocketBase s = zap.sock().base();
      Received req = recvNow(s);
      if (req == null) {
        return;
      }
      List<byte[]> reply = zap.policy().answer(req.parts());
      for (int i = 0; i < reply.size(); i++) {
        int flags = i < reply.size() - 1 ? zmq.ZMQ.ZMQ_SNDMORE : 0;
        if (!s.send(new Msg(reply.get(i)), flags)) {
          Main.log("ZAP reply not sent: " + Errno.name(s.errno()));
          return;
        }
      }
    }
  }

  private Reply zap(Request req) {
    ZapPolicy.Stats old = zap != null ? zap.policy().stats : new ZapPolicy.Stats();
    ObjectNode out =
        JSON.objectNode()
            .put("replaced", zap != null)
            .put("requests", old.requests)
            .put("accepted", old.accepted)
            .put("refused", old.refused);
    if (req.bool("remove", false)) {
      if (zap != null) {
        service(0, null);
        zap.sock().close();
        zap = null;
      }
      return Reply.ok(out);
    }
    ZapPolicy policy = new ZapPolicy(req.body());
    if (zap != null) {
      service(0, null);
      zap = new Zap(zap.sock(), policy);
    } else {
      ZMQ.Socket s = ctx.socket(SocketType.REP);
      s.setLinger(0); // a driver-internal helper
      if (!s.base().bind(ZAP_ENDPOINT)) {
        int err = s.base().errno();
        s.close();
        throw Errno.failure(err, "bind " + ZAP_ENDPOINT);
      }
      zap = new Zap(s, policy);
    }
    return Reply.ok(out);
  }

  // ---- ops --------------------------------------------------------------------------------

  private Entry entry(Request req) {
    String handle = req.string("socket");
    Entry e = sockets.get(handle);
    if (e == null) {
      throw new Failure("ENOTSOCK", "no socket \"" + handle + "\"");
    }
    return e;
  }

  private Reply hello(Request req) {
    ObjectNode o = JSON.objectNode();
    o.put("implementation", "jeromq");
    o.put("version", VERSION);
    o.put("library", "jeromq");
    o.put("library_version", Main.jeromqVersion());
    o.put("protocol_version", 1);
    SOCKET_TYPES.forEach(o.putArray("socket_types")::add);
    ArrayNode options = o.putArray("options");
    for (SockOpt opt : SockOpt.values()) {
      if (hasCurve || !opt.isCurve()) {
        options.add(opt.wireName());
      }
    }
    ArrayNode mechs = o.putArray("mechanisms").add("NULL").add("PLAIN");
    if (hasCurve) {
      mechs.add("CURVE");
    }
    o.putArray("zmtp").add("3.0");
    ops.keySet().forEach(o.putArray("ops")::add);
    ArrayNode notes = o.putArray("notes");
    List.of(
            "JeroMQ (pure Java, a port of libzmq 4.1) greets as ZMTP 3.0 (minor version 0) but"
                + " speaks the 3.1 commands PING/PONG and, for RADIO/DISH, JOIN/LEAVE",
            "options are passed to JeroMQ unchanged, in the order set; no library default is"
                + " changed; connect_timeout and invert_matching do not exist in JeroMQ",
            "security options: plain_username/plain_password make a PLAIN client even after"
                + " plain_server, but curve_serverkey does NOT make a curve_server socket a client"
                + " again (JeroMQ keeps as_server; libzmq clears it)",
            "a PLAIN server without a ZAP handler accepts every client (libzmq 4.1 behaviour;"
                + " libzmq 4.3 refuses); a CURVE server without one accepts every key",
            "JeroMQ decodes plain_username, plain_password and zap_domain as UTF-8 text",
            "RADIO/DISH groups are Java strings in JeroMQ: the driver maps octets one to one"
                + " (ISO-8859-1) and JeroMQ writes them as US-ASCII, so octets >= 0x80 become '?'",
            "a socket with sndbuf set cannot bind: JeroMQ sets SO_SNDBUF on the listening"
                + " channel, which Java refuses (bind answers unsupported)",
            "JeroMQ's I/O poller sometimes never registers a freshly connected channel"
                + " (zeromq/jeromq#1022): a connecting socket then sends no greeting; the driver"
                + " does not work around it",
            "draft types: recv adds group_hex on a DISH and routing_id on a SERVER or PEER",
            "events: value is JeroMQ's channel id (not an fd) for connected, accepted, listening,"
                + " closed and disconnected; handshake_protocol (bit 15, JeroMQ only) carries the"
                + " ZMTP revision")
        .forEach(notes::add);
    return Reply.ok(o);
  }

  private Reply socket(Request req) {
    String type = req.string("type");
    if (!SOCKET_TYPES.contains(type)) {
      throw new Unsupported("socket type \"" + type + "\" is not supported");
    }
    String handle = "s" + (++next);
    ZMQ.Socket sock = ctx.socket(SocketType.valueOf(type));
    String monitorEndpoint = "inproc://jeromq-driver-monitor-" + handle;
    // Monitoring starts now, so no event is missed (DRV-45).
    if (!sock.base().monitor(monitorEndpoint, zmq.ZMQ.ZMQ_EVENT_ALL)) {
      int err = sock.base().errno();
      sock.close();
      throw Errno.failure(err, "monitor");
    }
    ZMQ.Socket mon = ctx.socket(SocketType.PAIR);
    mon.setLinger(0);
    mon.connect(monitorEndpoint);
    sockets.put(handle, new Entry(sock, mon));
    return Reply.ok(JSON.objectNode().put("socket", handle));
  }

  private SockOpt option(Request req) {
    String name = req.string("option");
    SockOpt opt =
        SockOpt.byName(name)
            .orElseThrow(() -> new Unsupported("option \"" + name + "\" is not supported"));
    if (opt.isCurve() && !hasCurve) {
      throw new Unsupported("option \"" + name + "\": CURVE does not work here");
    }
    return opt;
  }

  private Reply setsockopt(Request req) {
    Entry e = entry(req);
    SockOpt opt = option(req);
    Object value = opt.toJeromq(req.raw("value"));
    if (!e.base().setSocketOpt(opt.number, value)) {
      throw Errno.failure(e.base().errno(), "setsockopt " + opt.wireName());
    }
    return Reply.ok();
  }

  private Reply getsockopt(Request req) {
    Entry e = entry(req);
    SockOpt opt = option(req);
    Object value = e.base().getSocketOptx(opt.number);
    return Reply.ok(JSON.objectNode().set("value", opt.fromJeromq(value)));
  }

  private Reply bind(Request req) {
    Entry e = entry(req);
    String endpoint = req.string("endpoint");
    boolean bound;
    try {
      bound = e.base().bind(endpoint);
    } catch (UnsupportedOperationException x) {
      // JeroMQ sets SO_SNDBUF (the sndbuf option) on the listening ServerSocketChannel, which
      // Java refuses: such a socket cannot bind. Nothing was bound.
      throw new Unsupported("JeroMQ cannot bind this socket: " + x.getMessage()
          + " (it applies sndbuf to the listening channel, which Java does not allow)");
    }
    if (!bound) {
      int err = e.base().errno();
      if (err == ZError.EAGAIN && tcpPortInUse(endpoint)) {
        // JeroMQ reports a port in use as EAGAIN; libzmq and the spec (DRV-16) say EADDRINUSE.
        throw new Failure("EADDRINUSE", "bind " + endpoint + ": address in use (JeroMQ: EAGAIN)");
      }
      throw Errno.failure(err, "bind " + endpoint);
    }
    Object last = e.base().getSocketOptx(zmq.ZMQ.ZMQ_LAST_ENDPOINT);
    return Reply.ok(JSON.objectNode().put("endpoint", String.valueOf(last)));
  }

  /** Whether {@code tcp://host:port} names a port another socket already listens on. */
  private static boolean tcpPortInUse(String endpoint) {
    if (!endpoint.startsWith("tcp://")) {
      return false;
    }
    String rest = endpoint.substring("tcp://".length());
    int colon = rest.lastIndexOf(':');
    if (colon < 0) {
      return false;
    }
    int port;
    try {
      port = Integer.parseInt(rest.substring(colon + 1));
    } catch (NumberFormatException x) {
      return false;
    }
    String host = rest.substring(0, colon).replace("[", "").replace("]", "");
    if (port == 0 || host.equals("*")) {
      host = "0.0.0.0";
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.bind(new java.net.InetSocketAddress(host, port));
      return false;
    } catch (java.net.BindException x) {
      return true;
    } catch (IOException x) {
      return false;
    }
  }

  private Reply connect(Request req) {
    Entry e = entry(req);
    String endpoint = req.string("endpoint");
    if (!e.base().connect(endpoint)) {
      throw Errno.failure(e.base().errno(), "connect " + endpoint);
    }
    return Reply.ok();
  }

  private Reply endpointOff(Request req, String what) {
    Entry e = entry(req);
    String endpoint = req.string("endpoint");
    if (!e.base().termEndpoint(endpoint)) {
      throw Errno.failure(e.base().errno(), what + " " + endpoint);
    }
    return Reply.ok();
  }

  private Reply group(Request req, boolean join) {
    Entry e = entry(req);
    String group = new String(req.hex("group_hex"), StandardCharsets.ISO_8859_1);
    boolean ok = join ? e.base().join(group) : e.base().leave(group);
    if (!ok) {
      throw Errno.failure(e.base().errno(), join ? "join" : "leave");
    }
    return Reply.ok();
  }

  /**
   * Sends one message, frame by frame with DONTWAIT, waiting in the poll loop while JeroMQ says
   * EAGAIN. Returns false if the first frame was not accepted (nothing was sent). Once the first
   * frame is in, JeroMQ accepts the rest of the message (atomic multipart).
   */
  private boolean sendParts(
      SocketBase s, List<byte[]> parts, String group, boolean dontwait, long deadline) {
    for (int i = 0; i < parts.size(); i++) {
      int flags = zmq.ZMQ.ZMQ_DONTWAIT | (i < parts.size() - 1 ? zmq.ZMQ.ZMQ_SNDMORE : 0);
      while (!s.send(message(parts.get(i), group), flags)) {
        int err = s.errno();
        if (err != ZError.EAGAIN) {
          throw Errno.failure(err, "send");
        }
        if (i > 0) {
          // never expected: a multipart message is accepted whole
          if (!await(s, zmq.ZMQ.ZMQ_POLLOUT, deadline)) {
            throw new Failure("EDRIVER", "JeroMQ refused frame " + i + " of a multipart message");
          }
        } else if (dontwait || !await(s, zmq.ZMQ.ZMQ_POLLOUT, deadline)) {
          return false;
        }
      }
    }
    return true;
  }

  private static Msg message(byte[] data, String group) {
    Msg m = new Msg(data);
    if (group != null && !m.setGroup(group)) {
      throw new Failure("EINVAL", "group longer than 255 octets");
    }
    return m;
  }

  private Reply send(Request req) {
    Entry e = entry(req);
    List<byte[]> parts = req.hexList("parts_hex", true);
    if (parts.isEmpty()) {
      throw new Failure("EINVAL", "parts_hex must not be empty");
    }
    String group =
        req.has("group_hex")
            ? new String(req.hex("group_hex"), StandardCharsets.ISO_8859_1)
            : null;
    boolean dontwait = req.bool("dontwait", false);
    long deadline = deadline(req.count("timeout_ms", 1000));
    if (sendParts(e.base(), parts, group, dontwait, deadline)) {
      return Reply.ok();
    }
    return new Reply(dontwait ? "would_block" : "timeout", JSON.objectNode());
  }

  private Reply sendPart(Request req) {
    Entry e = entry(req);
    byte[] part = req.hex("part_hex");
    int flags = zmq.ZMQ.ZMQ_DONTWAIT | (req.bool("more", false) ? zmq.ZMQ.ZMQ_SNDMORE : 0);
    boolean dontwait = req.bool("dontwait", false);
    long deadline = deadline(req.count("timeout_ms", 1000));
    SocketBase s = e.base();
    while (!s.send(new Msg(part), flags)) {
      if (s.errno() != ZError.EAGAIN) {
        throw Errno.failure(s.errno(), "send");
      }
      if (dontwait) {
        return new Reply("would_block", JSON.objectNode());
      }
      if (!await(s, zmq.ZMQ.ZMQ_POLLOUT, deadline)) {
        return new Reply("timeout", JSON.objectNode());
      }
    }
    return Reply.ok();
  }

  private Reply sendBurst(Request req) {
    Entry e = entry(req);
    long count = req.integer("count");
    if (count < 0) {
      throw new Failure("EINVAL", "count must not be negative");
    }
    long first = req.count("first_seq", 0);
    byte[] topic = req.hex("topic_hex", new byte[0]);
    List<byte[]> prefix = req.hexList("prefix_hex", false);
    long size = req.count("size", 0);
    long nparts = req.integer("parts", 1);
    if (nparts < 1
        || nparts > Burst.MAX_PARTS
        || topic.length > Burst.MAX_TOPIC
        || Burst.containsMagic(topic)
        || size > Burst.MAX_SIZE) {
      throw new Failure("EINVAL", "bad burst parameters");
    }
    boolean dontwait = req.bool("dontwait", false);
    boolean stopOnWouldBlock = req.bool("stop_on_would_block", true);
    long start = System.nanoTime();
    long deadline = start + req.count("timeout_ms", 10_000) * 1_000_000;
    long accepted = 0;
    long wouldBlock = 0;
    long errors = 0;
    long waited = 0;
    long maxSendNs = 0;
    Long firstWouldBlock = null;
    Long lastAccepted = null;
    ObjectNode firstError = null;
    String stopped = "complete";
    for (long seq = first; seq < first + count; seq++) {
      if (stop.get()) {
        stopped = "interrupted";
        break;
      }
      List<byte[]> parts = new ArrayList<>(prefix);
      for (int i = 0; i < nparts; i++) {
        parts.add(Burst.frame(topic, seq, i, (int) nparts, (int) size));
      }
      long t = System.nanoTime();
      boolean ok;
      try {
        // One DONTWAIT attempt first: EAGAIN there means the send waited (DRV-71).
        ok = sendParts(e.base(), parts, null, true, deadline);
        if (!ok && !dontwait) {
          waited++;
          ok = sendParts(e.base(), parts, null, false, deadline);
        }
      } catch (Failure f) {
        errors++;
        firstError = JSON.objectNode().put("seq", seq).put("code", f.code());
        firstError.put("message", f.getMessage());
        stopped = "error";
        break;
      } finally {
        maxSendNs = Math.max(maxSendNs, System.nanoTime() - t);
      }
      if (ok) {
        accepted++;
        lastAccepted = seq;
      } else if (dontwait) {
        wouldBlock++;
        if (firstWouldBlock == null) {
          firstWouldBlock = seq;
        }
        if (stopOnWouldBlock || System.nanoTime() >= deadline) {
          stopped = stopOnWouldBlock ? "would_block" : "timeout";
          break;
        }
      } else {
        stopped = stop.get() ? "interrupted" : "timeout";
        break;
      }
    }
    ObjectNode r = JSON.objectNode();
    r.put("accepted", accepted);
    r.put("would_block", wouldBlock);
    r.put("errors", errors);
    r.set("first_error", firstError == null ? JSON.nullNode() : firstError);
    r.set("first_would_block_seq", orNull(firstWouldBlock));
    r.set("last_accepted_seq", orNull(lastAccepted));
    r.put("stopped", stopped);
    r.put("elapsed_us", (System.nanoTime() - start) / 1000);
    r.put("max_send_us", maxSendNs / 1000);
    r.put("waited", waited);
    return Reply.ok(r);
  }

  private static JsonNode orNull(Long value) {
    return value == null ? JSON.nullNode() : JSON.numberNode(value);
  }

  /** One whole message if one is there now, else null (EAGAIN); other errors are failures. */
  private static Received recvNow(SocketBase s) {
    Msg m = s.recv(zmq.ZMQ.ZMQ_DONTWAIT);
    if (m == null) {
      if (s.errno() != ZError.EAGAIN) {
        throw Errno.failure(s.errno(), "recv");
      }
      return null;
    }
    String group = m.getGroup();
    int routingId = m.getRoutingId();
    List<byte[]> parts = new ArrayList<>();
    parts.add(m.data());
    while (m.hasMore()) {
      m = s.recv(zmq.ZMQ.ZMQ_DONTWAIT);
      if (m == null) {
        throw new Failure("EDRIVER", "a multipart message ended early: " + Errno.name(s.errno()));
      }
      parts.add(m.data());
    }
    return new Received(parts, group, routingId);
  }

  private Received recvParts(SocketBase s, long deadline) {
    while (true) {
      Received r = recvNow(s);
      if (r != null) {
        return r;
      }
      if (!await(s, zmq.ZMQ.ZMQ_POLLIN, deadline)) {
        return null;
      }
    }
  }

  private Reply recv(Request req) {
    Entry e = entry(req);
    Received r = recvParts(e.base(), deadline(req.count("timeout_ms", 1000)));
    if (r == null) {
      return new Reply("timeout", JSON.objectNode());
    }
    ObjectNode out = JSON.objectNode();
    ArrayNode parts = out.putArray("parts_hex");
    r.parts().forEach(p -> parts.add(Hex.encode(p)));
    if (r.routingId() != 0) {
      out.put("routing_id", Integer.toUnsignedLong(r.routingId()));
    }
    if (r.group() != null && !r.group().isEmpty()) {
      out.put("group_hex", Hex.encode(r.group().getBytes(StandardCharsets.ISO_8859_1)));
    }
    return Reply.ok(out);
  }

  private Reply drain(Request req) {
    Entry e = entry(req);
    long start = System.nanoTime();
    long last = start;
    long deadline = start + req.count("timeout_ms", 5000) * 1_000_000;
    long quiet = req.count("quiet_ms", 200) * 1_000_000;
    long max = req.has("max_messages") ? req.count("max_messages", 0) : Long.MAX_VALUE;
    Burst.Drain acc =
        new Burst.Drain((int) req.count("strip_prefix", 0), (int) req.count("other_limit", 16));
    String stopped;
    while (true) {
      long now = System.nanoTime();
      long until = Math.min(deadline, last + quiet);
      if (stop.get()) {
        stopped = "interrupted";
      } else if (acc.messages() >= max) {
        stopped = "max_messages";
      } else if (now >= deadline) {
        stopped = "timeout";
      } else if (now >= until) {
        stopped = "quiet";
      } else {
        Received r = recvParts(e.base(), until);
        if (r != null) {
          acc.push(r.parts());
          last = System.nanoTime();
        }
        continue;
      }
      break;
    }
    ObjectNode report = acc.report(stopped, (System.nanoTime() - start) / 1000);
    return new Reply(acc.messages() > 0 ? "ok" : "timeout", report);
  }

  /** Why a round-trip loop stopped without finishing: a signal, or else the deadline. */
  private String cutShort() {
    return stop.get() ? "interrupted" : "timeout";
  }

  /**
   * The reply of echo and ping_pong: ok once something was done, error when a library error
   * stopped the op before that, else timeout (DRV-69, DRV-70).
   */
  private static Reply roundTripReply(long done, Failure failed, ObjectNode r) {
    if (done == 0 && failed != null) {
      throw failed;
    }
    ObjectNode first = null;
    if (failed != null) {
      first = JSON.objectNode().put("code", failed.code()).put("message", failed.getMessage());
    }
    r.set("first_error", first == null ? JSON.nullNode() : first);
    return new Reply(done > 0 ? "ok" : "timeout", r);
  }

  /** echo: receives a message and sends the same frames back, count times (DRV-69). */
  private Reply echo(Request req) {
    Entry e = entry(req);
    long count = req.integer("count");
    if (count < 1 || count > 1_000_000) {
      throw new Failure("EINVAL", "count must be 1..1000000");
    }
    long start = System.nanoTime();
    long deadline = start + req.count("timeout_ms", 10_000) * 1_000_000;
    long served = 0;
    Failure failed = null;
    String stopped = "complete";
    while (served < count) {
      try {
        Received r = recvParts(e.base(), deadline);
        if (r == null || !sendParts(e.base(), r.parts(), null, false, deadline)) {
          stopped = cutShort();
          break;
        }
      } catch (Failure f) {
        failed = f;
        stopped = "error";
        break;
      }
      served++;
    }
    ObjectNode r = JSON.objectNode();
    r.put("served", served);
    r.put("stopped", stopped);
    r.put("elapsed_us", (System.nanoTime() - start) / 1000);
    return roundTripReply(served, failed, r);
  }

  /**
   * ping_pong: count round trips of size octets, each timed here from just before the send to
   * just after the reply was received (DRV-70).
   */
  private Reply pingPong(Request req) {
    Entry e = entry(req);
    long count = req.integer("count");
    long size = req.count("size", 0);
    if (count < 1 || count > 100_000 || size > 16 << 20) {
      throw new Failure("EINVAL", "count must be 1..100000 and size at most 16 MiB");
    }
    byte[] base = new byte[(int) size + 256];
    for (int k = 0; k < base.length; k++) {
      base[k] = (byte) k;
    }
    long start = System.nanoTime();
    long deadline = start + req.count("timeout_ms", 10_000) * 1_000_000;
    ArrayNode rtts = JSON.arrayNode();
    long mismatched = 0;
    Failure failed = null;
    String stopped = "complete";
    for (long i = 0; i < count; i++) {
      if (stop.get() || System.nanoTime() >= deadline) {
        stopped = cutShort();
        break;
      }
      int off = (int) (i % 256);
      byte[] payload = Arrays.copyOfRange(base, off, off + (int) size);
      List<byte[]> message = List.of(payload);
      Received reply;
      long t = System.nanoTime();
      try {
        reply =
            sendParts(e.base(), message, null, false, deadline)
                ? recvParts(e.base(), deadline)
                : null;
      } catch (Failure f) {
        failed = f;
        stopped = "error";
        break;
      }
      long rtt = System.nanoTime() - t;
      if (reply == null) {
        stopped = cutShort();
        break;
      }
      rtts.add(rtt);
      if (reply.parts().size() != 1 || !Arrays.equals(reply.parts().get(0), payload)) {
        mismatched++;
      }
    }
    ObjectNode r = JSON.objectNode();
    r.put("round_trips", rtts.size());
    r.set("rtt_ns", rtts);
    r.put("mismatched", mismatched);
    r.put("stopped", stopped);
    r.put("elapsed_us", (System.nanoTime() - start) / 1000);
    return roundTripReply(rtts.size(), failed, r);
  }

  private Reply events(Request req) {
    Entry e = entry(req);
    long deadline = deadline(req.count("timeout_ms", 0));
    while (e.events.isEmpty() && System.nanoTime() < deadline && !stop.get()) {
      long left = (deadline - System.nanoTime()) / 1_000_000 + 1;
      service(Math.min(TICK_MS, left), null);
    }
    service(0, null);
    ObjectNode out = JSON.objectNode();
    ArrayNode list = out.putArray("events");
    e.events.forEach(list::add);
    out.put("dropped", e.dropped);
    String result = e.events.isEmpty() ? "timeout" : "ok";
    e.events.clear();
    e.dropped = 0;
    return new Reply(result, out);
  }

  private Reply close(Request req) {
    Entry e = entry(req);
    if (req.has("linger_ms")) {
      int linger = (int) req.integer("linger_ms");
      if (!e.base().setSocketOpt(zmq.ZMQ.ZMQ_LINGER, linger)) {
        throw Errno.failure(e.base().errno(), "setsockopt linger");
      }
    }
    sockets.values().remove(e);
    long t = System.nanoTime();
    closeEntry(e);
    return Reply.ok(JSON.objectNode().put("elapsed_ms", (System.nanoTime() - t) / 1_000_000));
  }

  /** Stops the monitor first, then closes the socket (JeroMQ lingers in the background). */
  private static void closeEntry(Entry e) {
    e.base().monitor(null, 0);
    e.sock.close();
    e.monitor.close();
  }

  /** Closes every socket honouring its LINGER, then terminates the context (DRV-22). */
  private void shutdown() {
    sockets.values().forEach(Driver::closeEntry);
    sockets.clear();
    if (zap != null) {
      zap.sock().close();
      zap = null;
    }
    ctx.close(selector);
    ctx.term();
    Main.log("context terminated");
  }
}
