package main

import (
	"bytes"
	"log"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Limits of echo and ping_pong (spec DRV-69, DRV-70).
const (
	echoMaxCount     = 1_000_000
	pingPongMaxCount = 100_000
	pingPongMaxSize  = 16 << 20
)

// roundTripReply is ok once something was done; error when a library error stopped the op
// before that; else timeout (DRV-69, DRV-70).
func roundTripReply(done uint64, fields map[string]any, firstErr reply) reply {
	switch {
	case done > 0:
		return okReply(fields)
	case firstErr.result == "error":
		return firstErr
	}
	return reply{result: "timeout", fields: fields}
}

// cutShort says why a round-trip loop stopped without finishing: a signal, or the deadline.
func (d *driver) cutShort() string {
	if d.stopped() {
		return "interrupted"
	}
	return "timeout"
}

// firstError is the first_error field of a library error.
func firstError(rep reply) map[string]any {
	return map[string]any{"code": rep.fields["code"], "message": rep.fields["message"]}
}

// opEcho receives a message and sends the same frames back, count times (DRV-69).
func (d *driver) opEcho(r request) (reply, error) {
	s, rep, err := d.socketArg(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	count, err := r.count("count", 0)
	if err != nil {
		return reply{}, err
	}
	if count < 1 || count > echoMaxCount {
		return errorReply("EINVAL", "count must be 1..%d", echoMaxCount), nil
	}
	ms, err := r.millis("timeout_ms", 10000)
	if err != nil {
		return reply{}, err
	}
	s.build(d.ctx)
	start := time.Now()
	deadline := start.Add(time.Duration(ms) * time.Millisecond)
	var served uint64
	var failed reply
	stopped := "complete"
	for served < count {
		if d.stopped() || !time.Now().Before(deadline) {
			stopped = d.cutShort()
			break
		}
		parts, err := s.recv(deadline)
		if err != nil {
			if connectionEnded(err) {
				log.Printf("%s: echo: receive error %q (a connection ended), skipped", s.handle, err)
				continue
			}
			failed, stopped = libError("recv", err), "error"
			break
		}
		if parts == nil {
			continue
		}
		accepted, err := s.send(zmq4.NewMsgFrom(parts...), false, deadline)
		if err != nil {
			failed, stopped = libError("send", err), "error"
			break
		}
		if !accepted {
			stopped = d.cutShort()
			break
		}
		served++
	}
	fields := map[string]any{
		"served": served, "stopped": stopped, "first_error": nil,
		"elapsed_us": time.Since(start).Microseconds(),
	}
	if stopped == "error" {
		fields["first_error"] = firstError(failed)
	}
	return roundTripReply(served, fields, failed), nil
}

// pingPayload is round trip i's request: size octets, octet k being (k + i) mod 256.
func pingPayload(base []byte, i uint64, size int) []byte {
	off := int(i % 256)
	return base[off : off+size]
}

// opPingPong makes count timed round trips of size octets (DRV-70): each is timed here, from
// just before the send to just after the reply was received.
func (d *driver) opPingPong(r request) (reply, error) {
	s, rep, err := d.socketArg(r)
	if rep != nil || err != nil {
		return deref(rep), err
	}
	count, err := r.count("count", 0)
	if err != nil {
		return reply{}, err
	}
	size, err := r.count("size", 0)
	if err != nil {
		return reply{}, err
	}
	if count < 1 || count > pingPongMaxCount || size > pingPongMaxSize {
		return errorReply("EINVAL", "count must be 1..%d and size at most %d", pingPongMaxCount, pingPongMaxSize), nil
	}
	ms, err := r.millis("timeout_ms", 10000)
	if err != nil {
		return reply{}, err
	}
	s.build(d.ctx)
	base := make([]byte, int(size)+256)
	for k := range base {
		base[k] = byte(k)
	}
	start := time.Now()
	deadline := start.Add(time.Duration(ms) * time.Millisecond)
	rtts := make([]int64, 0, count)
	var mismatched uint64
	var failed reply
	stopped := "complete"
	for i := uint64(0); i < count; i++ {
		if d.stopped() || !time.Now().Before(deadline) {
			stopped = d.cutShort()
			break
		}
		payload := pingPayload(base, i, int(size))
		msg := zmq4.NewMsg(payload)
		t0 := time.Now()
		accepted, err := s.send(msg, false, deadline)
		if err != nil {
			failed, stopped = libError("send", err), "error"
			break
		}
		if !accepted {
			stopped = d.cutShort()
			break
		}
		var parts [][]byte
		for parts == nil && err == nil && time.Now().Before(deadline) && !d.stopped() {
			parts, err = s.recv(deadline)
		}
		if err != nil {
			failed, stopped = libError("recv", err), "error"
			break
		}
		if parts == nil {
			stopped = d.cutShort()
			break
		}
		rtts = append(rtts, time.Since(t0).Nanoseconds())
		if len(parts) != 1 || !bytes.Equal(parts[0], payload) {
			mismatched++
		}
	}
	fields := map[string]any{
		"round_trips": uint64(len(rtts)), "rtt_ns": rtts, "mismatched": mismatched,
		"stopped": stopped, "first_error": nil, "elapsed_us": time.Since(start).Microseconds(),
	}
	if stopped == "error" {
		fields["first_error"] = firstError(failed)
	}
	return roundTripReply(uint64(len(rtts)), fields, failed), nil
}
