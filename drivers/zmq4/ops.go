package main

import (
	"fmt"
	"log"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-zeromq/zmq4"
)

const driverVersion = "0.1.0"

// libraryVersion is the zmq4 module version this binary was built with (go.sum pins it).
func libraryVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/go-zeromq/zmq4" {
				return m.Version
			}
		}
	}
	return "unknown"
}

var implementedOps = []string{
	"hello", "socket", "setsockopt", "bind", "connect", "send", "send_burst", "recv", "drain",
	"close", "exit", "echo", "ping_pong",
}

var notes = []string{
	"connect replies at once with pending=true: zmq4's Dial returns only after TCP connect (10 tries 250 ms apart by default, then it fails) and the whole ZMTP handshake, so the driver dials in a goroutine; zmq4's socket stays usable meanwhile, so only send waits for the pending connect (within its deadline; not on PUB/XPUB, whose Send never waits), while recv, drain, bind and subscribe/unsubscribe go to the library at once (zmq4 keeps topics and sends them on every new connection)",
	"no DONTWAIT in zmq4: a dontwait send gives the library's blocking Send 2 ms, and a receive with timeout 0 gives Recv 2 ms",
	"a send answered would_block or timeout may still be delivered: zmq4 cannot cancel a Send, so the message stays with the socket's sender goroutine; the next send on that socket waits for it (dontwait: would_block at once)",
	"zmq4 has no LINGER: close (and exit) closes every connection at once; close with linger_ms is unsupported",
	"sndhwm only on PUB, so it is not in options (zmq4's HWM option: one queue for the whole socket, messages beyond it dropped silently; 0, the default, is unbounded); no rcvhwm",
	"routing_id, plain_*, reconnect_ivl (zmq4 WithDialerRetry) and connect_timeout (WithDialerTimeout) are zmq4 constructor options: set them before the first bind/connect/send/recv",
	"PLAIN: the role follows bind/connect (zmq4 makes every accepted connection the PLAIN server and every dialled one the client); a bound socket with client credentials or a connecting plain_server is unsupported; zmq4's PLAIN server accepts every user name and password and there is no ZAP",
	"multi-frame messages are sent with SendMulti (one vectored write), single frames with Send",
	"zmq4's Recv returns an error (io.EOF, io.ErrUnexpectedEOF, ECONNRESET) once for every connection that ends; recv answers it as error ECONNRESET, drain counts it in an extra field recv_errors and goes on",
	"Recv hands ZMTP commands other than the handshake's to the application as messages (zmq4 marks them Msg.Type CmdMsg); the driver passes them on as received",
	"no getsockopt, disconnect, unbind, send_part, events (no monitor), zap; no CURVE, no STREAM, no RADIO/DISH",
}

func (d *driver) opHello(request) (reply, error) {
	return okReply(map[string]any{
		"implementation":   "zmq4",
		"version":          driverVersion,
		"library":          "zmq4",
		"library_version":  libraryVersion(),
		"binding":          "",
		"binding_version":  "",
		"protocol_version": protocolVersion,
		"socket_types":     socketTypes,
		"options":          supportedOptions,
		"mechanisms":       []string{"NULL", "PLAIN"},
		"zmtp":             []string{"3.0"},
		"ops":              implementedOps,
		"notes":            notes,
	}), nil
}

func (d *driver) opSocket(r request) (reply, error) {
	ty, err := r.str("type")
	if err != nil {
		return reply{}, err
	}
	if _, ok := constructors[ty]; !ok {
		return unsupported("zmq4 has no %q socket", ty), nil
	}
	d.next++
	handle := fmt.Sprintf("s%d", d.next)
	d.sockets[handle] = newSock(handle, ty, d.stop)
	return okReply(map[string]any{"socket": handle}), nil
}

// endpointArgs reads socket and endpoint and looks the socket up.
func (d *driver) endpointArgs(r request) (*sock, string, *reply, error) {
	handle, err := r.str("socket")
	if err != nil {
		return nil, "", nil, err
	}
	ep, err := r.str("endpoint")
	if err != nil {
		return nil, "", nil, err
	}
	s, ok := d.sockets[handle]
	if !ok {
		rep := noSocket(handle)
		return nil, "", &rep, nil
	}
	return s, ep, nil, nil
}

func (d *driver) opBind(r request) (reply, error) {
	s, ep, rep, err := d.endpointArgs(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	if s.opts.plainRole == "client" {
		return unsupported("zmq4 makes every connection a bound socket accepts the PLAIN server; it cannot bind as a PLAIN client"), nil
	}
	sk := s.build(d.ctx)
	if sk.Addr() != nil {
		log.Printf("%s: a second bind: zmq4 replaces the socket's listener (the first keeps its port)", s.handle)
	}
	if err := sk.Listen(ep); err != nil {
		return libError("bind", err), nil
	}
	scheme, _, _ := strings.Cut(ep, "://")
	return okReply(map[string]any{"endpoint": scheme + "://" + sk.Addr().String()}), nil
}

func (d *driver) opConnect(r request) (reply, error) {
	s, ep, rep, err := d.endpointArgs(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	if s.opts.plainRole == "server" {
		return unsupported("zmq4 makes every connection a socket dials a PLAIN client; it cannot connect as a PLAIN server"), nil
	}
	// Fail fast on what zmq4's Dial would refuse at once, as libzmq's connect does.
	scheme, addr, found := strings.Cut(ep, "://")
	if !found {
		return errorReply("EINVAL", "invalid endpoint %q", ep), nil
	}
	switch scheme {
	case "tcp":
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return errorReply("EINVAL", "invalid endpoint %q: %v", ep, err), nil
		}
	case "ipc", "inproc":
	default:
		return errorReply("EPROTONOSUPPORT", "zmq4: unknown transport %q", scheme), nil
	}
	s.build(d.ctx)
	s.dial(ep)
	return okReply(map[string]any{"pending": true}), nil
}

func deref(r *reply) reply {
	if r == nil {
		return reply{}
	}
	return *r
}

// socketArg reads the socket field and looks the socket up.
func (d *driver) socketArg(r request) (*sock, *reply, error) {
	handle, err := r.str("socket")
	if err != nil {
		return nil, nil, err
	}
	s, ok := d.sockets[handle]
	if !ok {
		rep := noSocket(handle)
		return nil, &rep, nil
	}
	return s, nil, nil
}

func (d *driver) opSend(r request) (reply, error) {
	s, rep, err := d.socketArg(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	parts, err := r.hexList("parts_hex", true)
	if err != nil {
		return reply{}, err
	}
	if len(parts) == 0 {
		return errorReply("EINVAL", "parts_hex must not be empty"), nil
	}
	dontwait, err := r.boolean("dontwait", false)
	if err != nil {
		return reply{}, err
	}
	ms, err := r.millis("timeout_ms", 1000)
	if err != nil {
		return reply{}, err
	}
	s.build(d.ctx)
	accepted, err := s.send(zmq4.NewMsgFrom(parts...), dontwait, time.Now().Add(time.Duration(ms)*time.Millisecond))
	switch {
	case err != nil:
		return libError("send", err), nil
	case accepted:
		return okReply(nil), nil
	case dontwait:
		return reply{result: "would_block"}, nil
	}
	return timeoutReply(), nil
}

func (d *driver) opRecv(r request) (reply, error) {
	s, rep, err := d.socketArg(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	ms, err := r.millis("timeout_ms", 1000)
	if err != nil {
		return reply{}, err
	}
	s.build(d.ctx)
	parts, err := s.recv(time.Now().Add(time.Duration(ms) * time.Millisecond))
	switch {
	case err != nil:
		return libError("recv", err), nil
	case parts == nil:
		return timeoutReply(), nil
	}
	return okReply(map[string]any{"parts_hex": hexParts(parts)}), nil
}

func (d *driver) opClose(r request) (reply, error) {
	s, rep, err := d.socketArg(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	if r.has("linger_ms") {
		return unsupported("zmq4 has no LINGER; close without linger_ms (nothing was closed)"), nil
	}
	t0 := time.Now()
	delete(d.sockets, s.handle)
	s.close()
	return okReply(map[string]any{"elapsed_ms": time.Since(t0).Milliseconds()}), nil
}
