package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// reply is one reply line: {"id": N, "result": "...", ...fields}.
type reply struct {
	id     *uint64 // nil: the request could not be parsed far enough (JSON null)
	result string
	fields map[string]any
}

func okReply(fields map[string]any) reply { return reply{result: "ok", fields: fields} }

func timeoutReply() reply { return reply{result: "timeout"} }

func unsupported(format string, args ...any) reply {
	return reply{result: "unsupported", fields: map[string]any{"message": fmt.Sprintf(format, args...)}}
}

func errorReply(code, format string, args ...any) reply {
	return reply{result: "error", fields: map[string]any{"code": code, "message": fmt.Sprintf(format, args...)}}
}

// libError answers a library error with its errno-style name (see errCode).
func libError(op string, err error) reply {
	return errorReply(errCode(op, err), "%v", err)
}

// line encodes the reply as one JSON line, id and result first.
func (r reply) line() []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	if r.id == nil {
		b.WriteString("null")
	} else {
		b.WriteString(strconv.FormatUint(*r.id, 10))
	}
	b.WriteString(`,"result":`)
	b.Write(mustJSON(r.result))
	keys := make([]string, 0, len(r.fields))
	for k := range r.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(',')
		b.Write(mustJSON(k))
		b.WriteByte(':')
		b.Write(mustJSON(r.fields[k]))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`"<unencodable>"`)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// request is a parsed request object; its accessors apply defaults and check JSON kinds.
type request map[string]any

// badField is a known op's missing or ill-typed field: error EINVAL (DRV-11).
type badField struct{ msg string }

func (e badField) Error() string { return e.msg }

func (r request) has(key string) bool {
	v, ok := r[key]
	return ok && v != nil
}

func (r request) str(key string) (string, error) {
	v, ok := r[key].(string)
	if !ok {
		return "", badField{fmt.Sprintf("%s must be a string", key)}
	}
	return v, nil
}

// integer returns the field as an integer, def when it is absent or null.
func (r request) integer(key string, def int64) (int64, error) {
	if !r.has(key) {
		return def, nil
	}
	n, ok := r[key].(json.Number)
	if !ok {
		return 0, badField{fmt.Sprintf("%s must be an integer", key)}
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, badField{fmt.Sprintf("%s must be an integer", key)}
	}
	return i, nil
}

// count is a non-negative integer field.
func (r request) count(key string, def uint64) (uint64, error) {
	if !r.has(key) {
		return def, nil
	}
	n, ok := r[key].(json.Number)
	if !ok {
		return 0, badField{fmt.Sprintf("%s must be a non-negative integer", key)}
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil {
		return 0, badField{fmt.Sprintf("%s must be a non-negative integer", key)}
	}
	return u, nil
}

// millis is a non-negative timeout field in milliseconds.
func (r request) millis(key string, def int64) (int64, error) {
	v, err := r.count(key, uint64(def))
	if err == nil && v > 1<<40 {
		v = 1 << 40 // about 35 years
	}
	return int64(v), err
}

func (r request) boolean(key string, def bool) (bool, error) {
	if !r.has(key) {
		return def, nil
	}
	return asBool(r[key], key)
}

// asBool takes true/false, and 0/1 as the spec allows for bool options.
func asBool(v any, key string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case json.Number:
		switch x.String() {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	}
	return false, badField{fmt.Sprintf("%s must be a boolean", key)}
}

func (r request) hexField(key string, def []byte) ([]byte, error) {
	if !r.has(key) {
		return def, nil
	}
	s, ok := r[key].(string)
	if !ok {
		return nil, badField{fmt.Sprintf("%s must be a hex string", key)}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, badField{fmt.Sprintf("%s: %v", key, err)}
	}
	return b, nil
}

func (r request) hexList(key string, required bool) ([][]byte, error) {
	if !r.has(key) {
		if required {
			return nil, badField{fmt.Sprintf("%s is required", key)}
		}
		return nil, nil
	}
	list, ok := r[key].([]any)
	if !ok {
		return nil, badField{fmt.Sprintf("%s must be a list of hex strings", key)}
	}
	out := make([][]byte, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, badField{fmt.Sprintf("%s[%d] must be a hex string", key, i)}
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, badField{fmt.Sprintf("%s[%d]: %v", key, i, err)}
		}
		out[i] = b
	}
	return out, nil
}

func hexParts(parts [][]byte) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = hex.EncodeToString(p)
	}
	return out
}

// opFunc handles one op; a badField error becomes error EINVAL.
type opFunc func(d *driver, r request) (reply, error)

var ops = map[string]opFunc{
	"hello":      (*driver).opHello,
	"socket":     (*driver).opSocket,
	"setsockopt": (*driver).opSetsockopt,
	"bind":       (*driver).opBind,
	"connect":    (*driver).opConnect,
	"send":       (*driver).opSend,
	"send_burst": (*driver).opSendBurst,
	"recv":       (*driver).opRecv,
	"drain":      (*driver).opDrain,
	"close":      (*driver).opClose,
	"echo":       (*driver).opEcho,
	"ping_pong":  (*driver).opPingPong,
	"exit":       func(*driver, request) (reply, error) { return okReply(nil), nil },
}

// lacking are the ops of the protocol zmq4 cannot carry out, with the reason.
var lacking = map[string]string{
	"getsockopt": "zmq4 cannot read library settings back: GetOption returns only values stored by SetOption",
	"disconnect": "zmq4 has no disconnect: a socket's connections end only when the socket is closed",
	"unbind":     "zmq4 has no unbind: a listener is closed only when the socket is closed",
	"send_part":  "zmq4 sends whole messages only (Send/SendMulti take a Msg); it has no frame-at-a-time send",
	"events":     "zmq4 has no socket monitor",
	"zap":        "zmq4 has no ZAP (RFC 27): its PLAIN server accepts every user name and password, and it has no CURVE",
	"join":       "zmq4 has no RADIO/DISH",
	"leave":      "zmq4 has no RADIO/DISH",
}

// handle parses and carries out one request line; the bool asks the loop to exit.
func (d *driver) handle(line []byte) (reply, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var req request
	if err := dec.Decode(&req); err != nil || req == nil {
		msg := "a request is a JSON object"
		if err != nil {
			msg = err.Error()
		}
		return errorReply("EPROTO", "%s", msg), false
	}
	id, idOK := requestID(req["id"])
	op, opOK := req["op"].(string)
	if !idOK || !opOK {
		return errorReply("EPROTO", "a request is an object with an integer id and a string op"), false
	}
	var rep reply
	if f, ok := ops[op]; ok {
		var err error
		rep, err = f(d, req)
		if err != nil {
			rep = errorReply("EINVAL", "bad request: %v", err)
		}
	} else if why, ok := lacking[op]; ok {
		rep = unsupported("%s", why)
	} else {
		rep = unsupported("unknown op %q", op)
	}
	rep.id = &id
	return rep, op == "exit"
}

// requestID accepts a non-negative integer below 2^53.
func requestID(v any) (uint64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil || u >= 1<<53 {
		return 0, false
	}
	return u, true
}
