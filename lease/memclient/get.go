package memclient

import (
	"context"
	"fmt"
	"io"

	"github.com/cachesync/cachesync/lease/memproto"
)

// Item is one mg reply: the parsed header, and the value when the flags
// asked for it (v) and the key was found.
type Item struct {
	memproto.MetaReply
	Value []byte
}

// MetaGet runs "mg <key> <flags>" for every key, pipelined, and returns the
// replies in key order (Code EN: a miss). flags are mg's, e.g. "v c t".
func (c *Conn) MetaGet(ctx context.Context, keys []string, flags string) ([]Item, error) {
	out := make([]Item, len(keys))
	err := c.pipeline(ctx, "mg", len(keys),
		func(i int) {
			c.w.WriteString("mg ")
			c.w.WriteString(keys[i])
			if flags != "" {
				c.w.WriteString(" ")
				c.w.WriteString(flags)
			}
			c.w.WriteString("\r\n")
		},
		func(i int) error {
			r, err := c.metaLine("mg " + keys[i])
			if err != nil {
				return err
			}
			out[i].MetaReply = r
			if r.Code != "VA" {
				return nil
			}
			data := make([]byte, r.Size+2)
			if _, err := io.ReadFull(c.r, data); err != nil {
				return fmt.Errorf("mg %s: read value: %w", keys[i], err)
			}
			out[i].Value = data[:r.Size]
			return nil
		})
	return out, err
}

// HandBack returns every lease the items won (W) by accident, for a reader
// that will never fill (memproto.AppendHandBack): the item stays stale and
// the real filler keeps its chance. items[i] must be the reply for keys[i],
// read with the c flag.
func (c *Conn) HandBack(ctx context.Context, keys []string, items []Item) error {
	var won []int
	for i := range items {
		if items[i].Win {
			won = append(won, i)
		}
	}
	var req []byte
	return c.pipeline(ctx, "hand back leases", len(won),
		func(j int) {
			i := won[j]
			req = memproto.AppendHandBack(req[:0], keys[i], items[i].Cas)
			c.w.Write(req)
		},
		func(j int) error {
			r, err := c.metaLine("hand back " + keys[won[j]])
			if err != nil {
				return err
			}
			// EX/NF: an invalidation or a fill came first, which clears the win too.
			if r.Code != "HD" && r.Code != "EX" && r.Code != "NF" {
				return fmt.Errorf("hand back %s: unexpected reply %s", keys[won[j]], r.Code)
			}
			return nil
		})
}
