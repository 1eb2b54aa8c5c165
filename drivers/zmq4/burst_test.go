package main

import (
	"bytes"
	"testing"
)

// The byte-exact vector of spec section 6.3 (and drivers/protocol/src/burst.rs).
func TestBurstFrameIsByteExact(t *testing.T) {
	got := burstFrame([]byte("ab"), 258, 0, 3, 30)
	want := []byte{
		0x61, 0x62, 0x5a, 0x54, 0x42, 0x31, 0, 0, 0, 0, 0, 0, 0x01, 0x02,
		0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 0x1e, 0x1c, 0x1d, 0x1e, 0x1f,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	if n := len(burstFrame([]byte("topic"), 1, 1, 2, 3)); n != headerLen {
		t.Fatalf("a small size gives a minimal frame: %d", n)
	}
}

func TestClassify(t *testing.T) {
	msg := func(seq uint64, n int) [][]byte {
		var m [][]byte
		for i := 0; i < n; i++ {
			m = append(m, burstFrame([]byte("t"), seq, uint16(i), uint16(n), 40))
		}
		return m
	}
	if c, seq, topic := classify(msg(5, 3)); c != classBurst || seq != 5 || string(topic) != "t" {
		t.Fatalf("burst: %v %d %q", c, seq, topic)
	}
	if c, _, _ := classify(msg(5, 3)[:2]); c != classPartial {
		t.Fatalf("partial: %v", c)
	}
	bad := msg(5, 3)
	bad[1][30] ^= 1
	if c, _, _ := classify(bad); c != classMalformed {
		t.Fatalf("malformed: %v", c)
	}
	mixed := msg(5, 2)
	mixed[1] = msg(6, 2)[1]
	if c, _, _ := classify(mixed); c != classMalformed {
		t.Fatalf("mixed: %v", c)
	}
	if c, _, _ := classify([][]byte{[]byte("hello")}); c != classOther {
		t.Fatalf("other: %v", c)
	}
	a := newDrainAcc(0, 16)
	for _, seq := range []uint64{1, 2, 3, 7, 2} {
		a.push(msg(seq, 1))
	}
	if len(a.runs) != 3 || a.duplicates != 1 || a.regressions != 1 || a.count != 5 {
		t.Fatalf("drain: %+v", a)
	}
}
