// Command zmq4-driver puts github.com/go-zeromq/zmq4 (pure-Go ZeroMQ) under the control of the
// ZMTP conformance harness: JSON requests, one per line, on stdin; one JSON reply per request on
// stdout; free-form logs on stderr (spec/driver-protocol.md).
//
// Shape: the main goroutine owns every socket and answers requests strictly in order. zmq4's
// API blocks (Dial waits for TCP connect and handshake, Send and Recv wait), so each socket has
// a sender and a receiver goroutine that make one library call at a time on the owner's
// request, and every background Dial runs in a goroutine of its own; the owner waits on their
// results with its own deadline. A stdin reader goroutine feeds lines to the owner, and
// SIGINT/SIGTERM only close a channel that every wait selects on. On that signal, on EOF and
// after "exit" every socket is closed and the process exits with status 0.
package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	protocolVersion = 1
	// tick is how often the idle loop collects finished background connects.
	tick = 20 * time.Millisecond
	// pollGrace is how long a dontwait send, or a receive with timeout 0, gives the library's
	// blocking call to complete: zmq4 has no non-blocking send or receive.
	pollGrace = 2 * time.Millisecond
	// closeWait bounds one socket's Close at shutdown.
	closeWait = 2 * time.Second
)

// driver is the state the owner goroutine keeps; only that goroutine touches it.
type driver struct {
	sockets map[string]*sock
	next    int
	stop    chan struct{} // closed by the first SIGINT/SIGTERM
	started time.Time
	ctx     context.Context // the process's one "context": parent of every socket
	cancel  context.CancelFunc
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("zmq4 driver: ")
	os.Exit(run())
}

func run() int {
	ctx, cancel := context.WithCancel(context.Background())
	d := &driver{
		sockets: map[string]*sock{},
		stop:    make(chan struct{}),
		started: time.Now(),
		ctx:     ctx,
		cancel:  cancel,
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		log.Printf("%v received", s)
		close(d.stop)
	}()
	log.Printf("go-zeromq/zmq4 %s, pid %d", libraryVersion(), os.Getpid())

	lines := make(chan []byte)
	go readLines(os.Stdin, lines)
	out := bufio.NewWriter(os.Stdout)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
loop:
	for {
		if d.stopped() {
			break
		}
		select {
		case <-d.stop:
			break loop
		case <-ticker.C:
			d.service()
		case line, ok := <-lines:
			if !ok {
				log.Printf("EOF on stdin, shutting down")
				break loop
			}
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			rep, exit := d.handle(line)
			out.Write(rep.line())
			out.WriteByte('\n')
			if err := out.Flush(); err != nil {
				log.Printf("stdout: %v", err)
				break loop
			}
			if exit {
				break loop
			}
		}
	}
	d.shutdown()
	return 0
}

// stopped reports whether a signal asked the driver to stop.
func (d *driver) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// readLines sends every line of r (without its LF) to lines and closes lines at EOF.
func readLines(r io.Reader, lines chan<- []byte) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lines <- line
		}
		if err != nil {
			close(lines)
			return
		}
	}
}

// service collects (and logs) background connects that have finished.
func (d *driver) service() {
	for _, s := range d.sockets {
		s.collectDials()
	}
}

// shutdown closes every socket (each Close bounded) and ends the process's context.
func (d *driver) shutdown() {
	t0 := time.Now()
	for h, s := range d.sockets {
		s.close()
		delete(d.sockets, h)
	}
	d.cancel()
	log.Printf("sockets closed in %d ms, exiting", time.Since(t0).Milliseconds())
}
