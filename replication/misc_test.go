package replication

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestRedactDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                             "postgres://u@h/db",
		"postgresql://h/db?password=secret&user=u":      "postgresql://h/db?password=xxxxx&user=u",
		"host=h user=u password=secret dbname=db":       "host=h user=u password=xxxxx dbname=db",
		"host=h password='se cret \\' x' dbname=db":     "host=h password=xxxxx dbname=db",
		"host=h PASSWORD = secret":                      "host=h PASSWORD = xxxxx",
	}
	for in, want := range cases {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubSecrets(t *testing.T) {
	s := ScrubSecrets(`failed to connect to postgres://app:hunter2@10.0.0.1/db: password=hunter2 refused`)
	if strings.Contains(s, "hunter2") {
		t.Fatalf("secret left in %q", s)
	}
}

func TestEncodeStandbyStatus(t *testing.T) {
	now := pgEpoch.Add(3 * time.Second)
	b := encodeStandbyStatus(nil, 0x20, 0x10, now, true)
	if b[0] != 'd' || int(binary.BigEndian.Uint32(b[1:])) != len(b)-1 || b[5] != 'r' {
		t.Fatalf("bad frame %x", b)
	}
	body := b[6:]
	if w, f, a := binary.BigEndian.Uint64(body), binary.BigEndian.Uint64(body[8:]), binary.BigEndian.Uint64(body[16:]); w != 0x20 || f != 0x10 || a != 0x10 {
		t.Fatalf("write=%x flush=%x apply=%x", w, f, a)
	}
	if us := binary.BigEndian.Uint64(body[24:]); us != 3_000_000 {
		t.Fatalf("clock=%d", us)
	}
	if body[32] != 1 {
		t.Fatal("reply byte")
	}
	// A zero flush stays zero: nothing received may be confirmed.
	b = encodeStandbyStatus(b, 0x20, 0, now, false)
	if binary.BigEndian.Uint64(b[6+8:]) != 0 || b[len(b)-1] != 0 {
		t.Fatalf("zero flush replaced: %x", b)
	}
}

func TestParseHeartbeat(t *testing.T) {
	node, sent, ok := ParseHeartbeat([]byte("west 1 1700000000000000001"))
	if !ok || node != "west 1" || sent.UnixNano() != 1700000000000000001 {
		t.Fatalf("%q %v %v", node, sent, ok)
	}
	for _, bad := range []string{"", "west", " 12", "west x"} {
		if _, _, ok := ParseHeartbeat([]byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for i := range 20 {
		d := b.Next()
		if d < 50*time.Millisecond || d > 5*time.Second {
			t.Fatalf("attempt %d: %v out of bounds", i, d)
		}
	}
	if b.cur != 5*time.Second {
		t.Fatalf("did not reach max: %v", b.cur)
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}

func TestConfigValidation(t *testing.T) {
	h := &recorder{}
	cfg := DefaultConfig()
	if _, err := NewStream(cfg, h); err == nil {
		t.Fatal("empty config accepted")
	}
	cfg.DSN, cfg.Slot, cfg.Publication, cfg.Tables = "postgres://u:pw@127.0.0.1/db", "s", "p", []Table{{Schema: "public", Name: "t"}}
	if _, err := NewStream(cfg, h); err != nil {
		t.Fatal(err)
	}
	cfg.Tables = []Table{{Schema: "public"}}
	if _, err := NewStream(cfg, h); err == nil {
		t.Fatal("bad table accepted")
	}
}
