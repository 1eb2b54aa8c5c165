package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
)

// optionKinds is the option table of the protocol (spec section 5): name -> int, bool or hex.
var optionKinds = map[string]string{}

func init() {
	for _, n := range strings.Fields("sndhwm rcvhwm linger reconnect_ivl reconnect_ivl_max " +
		"connect_timeout handshake_ivl heartbeat_ivl heartbeat_ttl heartbeat_timeout maxmsgsize " +
		"sndtimeo rcvtimeo sndbuf rcvbuf backlog tcp_keepalive tcp_keepalive_idle " +
		"tcp_keepalive_cnt tcp_keepalive_intvl") {
		optionKinds[n] = "int"
	}
	for _, n := range strings.Fields("immediate req_relaxed req_correlate router_mandatory " +
		"router_handover xpub_nodrop xpub_verbose xpub_verboser xpub_manual invert_matching " +
		"probe_router conflate ipv6 plain_server curve_server") {
		optionKinds[n] = "bool"
	}
	for _, n := range strings.Fields("subscribe unsubscribe routing_id plain_username " +
		"plain_password zap_domain curve_publickey curve_secretkey curve_serverkey") {
		optionKinds[n] = "hex"
	}
}

// supportedOptions are the options this driver can pass to zmq4 (hello.options). sndhwm is
// left out: zmq4 has it on PUB only (setsockopt takes it there).
var supportedOptions = []string{
	"connect_timeout", "plain_password", "plain_server", "plain_username", "reconnect_ivl",
	"routing_id", "subscribe", "unsubscribe",
}

// buildTime are the options zmq4 takes only when the socket is created.
var buildTime = map[string]bool{
	"routing_id": true, "plain_server": true, "plain_username": true, "plain_password": true,
	"reconnect_ivl": true, "connect_timeout": true,
}

// missing says why zmq4 lacks an option of the protocol.
func missing(name string) string {
	switch {
	case strings.HasPrefix(name, "curve_"):
		return "zmq4 has no CURVE mechanism (only NULL and PLAIN)"
	case strings.HasPrefix(name, "heartbeat_"):
		return "zmq4 has no heartbeats: it never sends PING"
	case strings.HasPrefix(name, "tcp_keepalive"):
		return "zmq4 has no TCP keepalive options"
	case strings.HasPrefix(name, "xpub_"):
		return "zmq4's XPUB has no options"
	}
	switch name {
	case "rcvhwm":
		return "zmq4 has no receive high-water mark"
	case "linger":
		return "zmq4 has no LINGER: Close closes every connection at once"
	case "handshake_ivl":
		return "zmq4 has no handshake time limit"
	case "maxmsgsize":
		return "zmq4 has no message size limit"
	case "zap_domain":
		return "zmq4 has no ZAP"
	case "reconnect_ivl_max":
		return "zmq4 has no reconnect back-off"
	case "sndtimeo", "rcvtimeo":
		return "zmq4 fixes the send timeout at socket creation (WithTimeout, default 5 min) and has no receive timeout; the driver's own deadlines apply"
	}
	return fmt.Sprintf("zmq4 has no %s option", name)
}

func (d *driver) opSetsockopt(r request) (reply, error) {
	handle, err := r.str("socket")
	if err != nil {
		return reply{}, err
	}
	name, err := r.str("option")
	if err != nil {
		return reply{}, err
	}
	if !r.has("value") {
		return reply{}, badField{"value is required"}
	}
	s, ok := d.sockets[handle]
	if !ok {
		return noSocket(handle), nil
	}
	kind, known := optionKinds[name]
	if !known {
		return unsupported("unknown option %q", name), nil
	}
	if rep, lacks := s.lacksOption(name); lacks {
		return rep, nil
	}
	var (
		num   int64
		flag  bool
		octet []byte
	)
	switch kind {
	case "int":
		num, err = r.integer("value", 0)
	case "bool":
		flag, err = asBool(r["value"], "value")
	case "hex":
		octet, err = r.hexField("value", nil)
	}
	if err != nil {
		return errorReply("EINVAL", "%s: %v", name, err), nil
	}

	o := &s.opts
	switch name {
	case "routing_id":
		if len(octet) == 0 || len(octet) > 255 {
			return errorReply("EINVAL", "routing_id must be 1 to 255 octets"), nil
		}
		o.id = octet
	case "plain_server":
		if flag {
			o.plainRole = "server"
		} else if o.user != nil || o.pass != nil {
			o.plainRole = "client"
		} else {
			o.plainRole = ""
		}
	case "plain_username":
		o.user, o.plainRole = octet, "client"
	case "plain_password":
		o.pass, o.plainRole = octet, "client"
	case "reconnect_ivl":
		if num <= 0 {
			return unsupported("zmq4 always retries a failed dial (WithDialerRetry takes an interval); reconnect_ivl %d has no equivalent", num), nil
		}
		o.retry = time.Duration(num) * time.Millisecond
	case "connect_timeout":
		if num < 0 {
			return errorReply("EINVAL", "connect_timeout must not be negative"), nil
		}
		t := time.Duration(num) * time.Millisecond
		o.dialTimeout = &t
	case "sndhwm":
		if num < 0 {
			return errorReply("EINVAL", "sndhwm must not be negative"), nil
		}
		if err := s.build(d.ctx).SetOption(zmq4.OptionHWM, int(num)); err != nil {
			return libError("setsockopt", err), nil
		}
	case "subscribe", "unsubscribe":
		if s.kind != "SUB" {
			return errorReply("EINVAL", "%s on a %s socket", name, s.kind), nil
		}
		opt := zmq4.OptionSubscribe
		if name == "unsubscribe" {
			opt = zmq4.OptionUnsubscribe
		}
		// Not deferred while a Dial is pending: zmq4 keeps the topic and sends it on every
		// connection it adds.
		if err := s.build(d.ctx).SetOption(opt, string(octet)); err != nil {
			return libError("setsockopt", err), nil
		}
	}
	return okReply(nil), nil
}

// lacksOption answers options zmq4 does not have for this socket (nothing is changed).
func (s *sock) lacksOption(name string) (reply, bool) {
	if buildTime[name] && s.sk != nil {
		return unsupported("zmq4 fixes %s when the socket is created; set it before the first bind/connect/send/recv", name), true
	}
	switch name {
	case "routing_id", "plain_server", "plain_username", "plain_password", "reconnect_ivl", "connect_timeout":
		return reply{}, false
	case "sndhwm":
		switch s.kind {
		case "PUB":
			return reply{}, false
		case "XPUB":
			return unsupported("zmq4's XPUB stores the HWM option but does not use it"), true
		}
		return unsupported("zmq4 has a send high-water mark only on PUB (option HWM), not on %s", s.kind), true
	case "subscribe", "unsubscribe":
		switch s.kind {
		case "SUB":
			return reply{}, false
		case "XSUB":
			return unsupported("zmq4's XSUB stores the %s option but does not use it: send the subscription as a message", name), true
		}
		return reply{}, false // EINVAL, as libzmq answers
	}
	return unsupported("%s", missing(name)), true
}

func noSocket(handle string) reply {
	return errorReply("ENOTSOCK", "no socket %q", handle)
}

// errnoNames names the syscall errors zmq4 passes up from the network.
var errnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE:    "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.ECONNREFUSED:  "ECONNREFUSED",
	syscall.ECONNRESET:    "ECONNRESET",
	syscall.ECONNABORTED:  "ECONNABORTED",
	syscall.EPIPE:         "EPIPE",
	syscall.ETIMEDOUT:     "ETIMEDOUT",
	syscall.EHOSTUNREACH:  "EHOSTUNREACH",
	syscall.ENETUNREACH:   "ENETUNREACH",
	syscall.EACCES:        "EACCES",
	syscall.EINVAL:        "EINVAL",
	syscall.ENOENT:        "ENOENT",
	syscall.EMFILE:        "EMFILE",
	syscall.ENOBUFS:       "ENOBUFS",
	syscall.ENOMEM:        "ENOMEM",
}

// connectionEnded tells the errors with which zmq4's Recv reports that one connection ended.
func connectionEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, zmq4.ErrClosedConn) || errors.Is(err, net.ErrClosed)
}

// errCode maps a zmq4 error to an errno-style name (the README lists the mapping); zmq4 has
// no error codes, so most come from its error values, types and texts.
func errCode(op string, err error) string {
	var errno syscall.Errno
	var unknownTransport zmq4.UnknownTransportError
	var dnsErr *net.DNSError
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "EAGAIN"
	case errors.Is(err, context.Canceled):
		return "ETERM"
	case errors.As(err, &errno):
		if name, ok := errnoNames[errno]; ok {
			return name
		}
		return "EIO"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "ECONNRESET"
	case errors.Is(err, zmq4.ErrClosedConn), errors.Is(err, net.ErrClosed):
		return "ENOTCONN"
	case errors.As(err, &unknownTransport), strings.Contains(msg, "unknown transport"),
		strings.Contains(msg, "unknown protocol"):
		return "EPROTONOSUPPORT"
	case errors.As(err, &dnsErr):
		return "EINVAL"
	case errors.Is(err, zmq4.ErrBadProperty), strings.Contains(msg, "invalid address"),
		strings.Contains(msg, "missing port"), strings.Contains(msg, "too many colons"):
		return "EINVAL"
	case errors.Is(err, zmq4.ErrBadCmd), errors.Is(err, zmq4.ErrBadFrame),
		strings.Contains(msg, "invalid REP message"):
		return "EPROTO"
	case strings.Contains(msg, "overflow"):
		return "EMSGSIZE"
	case strings.Contains(msg, "can't recv"), strings.Contains(msg, "can't send"):
		return "ENOTSUP"
	case strings.Contains(msg, "no connections available"):
		if op == "recv" {
			return "EFSM" // a REQ receive with no request outstanding
		}
		return "ENOTCONN"
	}
	return "EZMQ4"
}
