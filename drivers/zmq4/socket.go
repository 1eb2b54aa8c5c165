package main

import (
	"context"
	"log"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/plain"
)

// constructors are the socket types zmq4 has (no STREAM, no draft RADIO/DISH).
var constructors = map[string]func(context.Context, ...zmq4.Option) zmq4.Socket{
	"PAIR":   zmq4.NewPair,
	"PUB":    zmq4.NewPub,
	"SUB":    zmq4.NewSub,
	"REQ":    zmq4.NewReq,
	"REP":    zmq4.NewRep,
	"DEALER": zmq4.NewDealer,
	"ROUTER": zmq4.NewRouter,
	"PULL":   zmq4.NewPull,
	"PUSH":   zmq4.NewPush,
	"XPUB":   zmq4.NewXPub,
	"XSUB":   zmq4.NewXSub,
}

var socketTypes = []string{"PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"}

// buildOpts are the options zmq4 takes only when a socket is created (zmq4.Option values).
type buildOpts struct {
	id          []byte
	plainRole   string // "", "server" or "client": the last security option decides (DRV-55)
	user, pass  []byte
	retry       time.Duration // reconnect_ivl: WithDialerRetry
	dialTimeout *time.Duration
}

func (o buildOpts) options() []zmq4.Option {
	var opts []zmq4.Option
	if o.id != nil {
		opts = append(opts, zmq4.WithID(zmq4.SocketIdentity(o.id)))
	}
	switch o.plainRole {
	case "server":
		opts = append(opts, zmq4.WithSecurity(plain.Security("", "")))
	case "client":
		opts = append(opts, zmq4.WithSecurity(plain.Security(string(o.user), string(o.pass))))
	}
	if o.retry > 0 {
		opts = append(opts, zmq4.WithDialerRetry(o.retry))
	}
	if o.dialTimeout != nil {
		opts = append(opts, zmq4.WithDialerTimeout(*o.dialTimeout))
	}
	return opts
}

type sendJob struct {
	msg  zmq4.Msg
	done chan error // buffered: the sender never waits for the owner
}

type recvResult struct {
	msg zmq4.Msg
	err error
}

type dialResult struct {
	endpoint string
	err      error
}

// sock is one socket of the driver. Only the owner goroutine touches its fields; the library
// socket is used by the sender goroutine (Send), the receiver goroutine (Recv), the dial
// goroutines (Dial) and the owner (Listen, SetOption, Close), as zmq4 allows.
type sock struct {
	handle, kind string
	opts         buildOpts
	sk           zmq4.Socket // nil until the first op that needs it
	cancel       context.CancelFunc

	sendq    chan *sendJob
	inflight *sendJob // handed to the sender, result not yet collected

	recvWant  chan struct{}   // one token: the receiver makes one Recv call
	recvRes   chan recvResult // the result of that call
	recvArmed bool            // a Recv call is under way (a receive timed out before it returned)

	dials    int             // background Dials not yet collected
	dialDone chan dialResult // where they report
	stop     <-chan struct{}
}

func newSock(handle, kind string, stop <-chan struct{}) *sock {
	return &sock{
		handle:   handle,
		kind:     kind,
		sendq:    make(chan *sendJob),
		recvWant: make(chan struct{}, 1),
		recvRes:  make(chan recvResult, 1),
		dialDone: make(chan dialResult, 64),
		stop:     stop,
	}
}

// build creates the library socket with the options set so far and starts its goroutines.
func (s *sock) build(parent context.Context) zmq4.Socket {
	if s.sk != nil {
		return s.sk
	}
	ctx, cancel := context.WithCancel(parent)
	s.cancel = cancel
	s.sk = constructors[s.kind](ctx, s.opts.options()...)
	go sender(ctx, s.sk, s.sendq)
	go receiver(ctx, s.sk, s.recvWant, s.recvRes)
	return s.sk
}

// sender makes the Send calls the owner hands it, one at a time.
func sender(ctx context.Context, sk zmq4.Socket, jobs <-chan *sendJob) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-jobs:
			if len(j.msg.Frames) > 1 {
				j.done <- sk.SendMulti(j.msg)
			} else {
				j.done <- sk.Send(j.msg)
			}
		}
	}
}

// receiver makes one Recv call per token: receiving on demand only, so the driver holds at
// most one message beyond the library's own queues, and a REP's reply route is set by a
// receive the application asked for.
func receiver(ctx context.Context, sk zmq4.Socket, want <-chan struct{}, out chan<- recvResult) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-want:
			msg, err := sk.Recv()
			out <- recvResult{msg, err}
		}
	}
}

// dial runs zmq4's Dial (TCP connect with its retries, then the whole handshake) in the
// background; the owner collects the result.
func (s *sock) dial(endpoint string) {
	s.dials++
	sk, done := s.sk, s.dialDone
	go func() {
		done <- dialResult{endpoint, sk.Dial(endpoint)}
	}()
}

// collectDials takes (and logs) the results of the Dials that have finished.
func (s *sock) collectDials() {
	for s.dials > 0 {
		select {
		case r := <-s.dialDone:
			s.dialFinished(r)
		default:
			return
		}
	}
}

func (s *sock) dialFinished(r dialResult) {
	s.dials--
	if r.err != nil {
		log.Printf("%s: connect to %s failed: %v", s.handle, r.endpoint, r.err)
	} else {
		log.Printf("%s: connected to %s (TCP and handshake done)", s.handle, r.endpoint)
	}
}

// awaitDials waits until every background Dial of the socket has finished, at most until
// deadline or a signal; false if one is still pending.
func (s *sock) awaitDials(deadline time.Time) bool {
	s.collectDials()
	if s.dials == 0 {
		return true
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for s.dials > 0 {
		select {
		case r := <-s.dialDone:
			s.dialFinished(r)
		case <-t.C:
			return false
		case <-s.stop:
			return false
		}
	}
	return true
}

// senderBusy collects the result of an earlier send that timed out, if it has come.
func (s *sock) senderBusy() bool {
	if s.inflight == nil {
		return false
	}
	select {
	case err := <-s.inflight.done:
		s.lateResult(err)
		return false
	default:
		return true
	}
}

func (s *sock) lateResult(err error) {
	if err != nil {
		log.Printf("%s: a send answered would_block/timeout ended later with: %v", s.handle, err)
	} else {
		log.Printf("%s: a send answered would_block/timeout was accepted later", s.handle)
	}
	s.inflight = nil
}

// send hands one message to the library: (true, nil) accepted; (false, nil) would block
// (dontwait) or not accepted before deadline / a signal; (false, err) the library refused it.
// With dontwait the library gets pollGrace to accept the message. A message not accepted in
// time stays with the sender goroutine, so it may still be sent later (zmq4 cannot cancel).
// Except on PUB and XPUB (whose Send never waits: they publish to the connections they have),
// a send first waits for the socket's pending Dials within its deadline (DRV-36), as an
// application whose Dial returned before it sends.
func (s *sock) send(msg zmq4.Msg, dontwait bool, deadline time.Time) (bool, error) {
	publisher := s.kind == "PUB" || s.kind == "XPUB"
	if dontwait {
		deadline = time.Now().Add(pollGrace)
		if !publisher && !s.awaitDials(time.Now()) {
			return false, nil
		}
		if s.senderBusy() {
			return false, nil
		}
	} else if !publisher && !s.awaitDials(deadline) {
		return false, nil
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for s.senderBusy() {
		select {
		case err := <-s.inflight.done:
			s.lateResult(err)
		case <-t.C:
			return false, nil
		case <-s.stop:
			return false, nil
		}
	}
	j := &sendJob{msg: msg, done: make(chan error, 1)}
	s.sendq <- j // the sender is idle: it returns to its receive right after a result
	select {
	case err := <-j.done:
		return err == nil, err
	case <-t.C:
	case <-s.stop:
	}
	s.inflight = j
	return false, nil
}

// recv receives one message: (frames, nil), or (nil, nil) when nothing came before deadline
// or a signal, or the library's error. It does not wait for pending Dials: Recv takes what
// any connection delivers, and a Dial that hangs (zmq4 has no handshake time limit) must not
// hide the others.
func (s *sock) recv(deadline time.Time) ([][]byte, error) {
	if time.Until(deadline) < pollGrace {
		deadline = time.Now().Add(pollGrace)
	}
	s.collectDials()
	if !s.recvArmed {
		s.recvWant <- struct{}{}
		s.recvArmed = true
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-s.recvRes:
		s.recvArmed = false
		if r.err != nil {
			return nil, r.err
		}
		if r.msg.Type == zmq4.CmdMsg {
			log.Printf("%s: Recv returned a ZMTP command (Msg.Type CmdMsg) as a message", s.handle)
		}
		if r.msg.Frames == nil {
			return [][]byte{}, nil
		}
		return r.msg.Frames, nil
	case <-t.C:
	case <-s.stop:
	}
	return nil, nil
}

// close closes the library socket (bounded by closeWait) and stops its goroutines.
func (s *sock) close() {
	if s.sk == nil {
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.sk.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Printf("%s: close: %v", s.handle, err)
		}
	case <-time.After(closeWait):
		log.Printf("%s: Close did not return within %v", s.handle, closeWait)
	}
	s.cancel()
}
