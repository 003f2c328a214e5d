package memproto

import (
	"bytes"
	"testing"
)

func BenchmarkParserGet(b *testing.B) {
	line := []byte("get y04dpLYPS26ZeWb5Los3r3BJcwNVx2ru2vVrE2Fg4LEjspoBcfERiPkJ\r\n")
	in := bytes.Repeat(line, 1000)
	r := bytes.NewReader(in)
	p := NewParser(r, Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		if _, err := p.Next(); err != nil {
			r.Reset(in)
			p = NewParser(r, Config{})
		}
	}
}
