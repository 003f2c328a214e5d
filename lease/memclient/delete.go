package memclient

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cachesync/cachesync/lease/memproto"
)

// DeleteOpts are md's flags.
type DeleteOpts struct {
	// Stale (I) marks the item stale instead of deleting it: readers are
	// served the old value with X, and the first one wins the refill (W).
	Stale bool
	// TTL (T), with Stale, replaces the item's remaining lifetime; it is
	// rounded down to whole seconds, at least one.
	TTL time.Duration
	// CAS (C) applies the delete only if the item's CAS still matches.
	CAS uint64
}

func (o DeleteOpts) append(b []byte) []byte {
	if o.Stale {
		b = append(b, " I"...)
	}
	if o.TTL > 0 {
		b = append(b, " T"...)
		b = strconv.AppendInt(b, max(1, int64(o.TTL/time.Second)), 10)
	}
	if o.CAS != 0 {
		b = append(b, " C"...)
		b = memproto.AppendUint(b, o.CAS)
	}
	return b
}

// MetaDelete runs one md and returns its reply: HD (done), NF (absent) or
// EX (CAS mismatch).
func (c *Conn) MetaDelete(ctx context.Context, key string, o DeleteOpts) (memproto.MetaReply, error) {
	var r memproto.MetaReply
	req := o.append(append([]byte("md "), key...))
	req = append(req, "\r\n"...)
	err := c.round(ctx, "md "+key, func() error {
		c.w.Write(req)
		if err := c.w.Flush(); err != nil {
			return err
		}
		var err error
		r, err = c.metaLine("md " + key)
		return err
	})
	return r, err
}

// Invalidate runs md with o on every key, pipelined and quiet, each chunk
// ending in mn. A key already absent counts as invalidated.
func (c *Conn) Invalidate(ctx context.Context, keys []string, o DeleteOpts) error {
	suffix := append(o.append(nil), " q\r\n"...)
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), Chunk)]
		keys = keys[len(chunk):]
		err := c.round(ctx, fmt.Sprintf("%d invalidations", len(chunk)), func() error {
			return c.invalidateChunk(chunk, suffix)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) invalidateChunk(keys []string, suffix []byte) error {
	for _, k := range keys {
		c.w.WriteString("md ")
		c.w.WriteString(k)
		c.w.Write(suffix)
	}
	c.w.WriteString("mn\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	var failure []byte
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(line, []byte("MN")):
			if failure != nil {
				return fmt.Errorf("invalidation refused: %s", failure)
			}
			return nil
		case bytes.HasPrefix(line, []byte("HD")), bytes.HasPrefix(line, []byte("NF")):
			// Done, or already absent (memcached 1.6.18 answers NF despite q).
		default:
			if failure == nil {
				failure = append([]byte(nil), line...)
			}
			if bytes.Equal(line, []byte("ERROR")) {
				// memcached did not parse a command; it may never reach MN.
				return fmt.Errorf("invalidation refused: %s", failure)
			}
		}
	}
}

// metaLine reads one meta reply header; an error line or anything else is
// an error.
func (c *Conn) metaLine(what string) (memproto.MetaReply, error) {
	line, err := c.line()
	if err != nil {
		return memproto.MetaReply{}, err
	}
	r, ok := memproto.ParseMetaReply(line)
	if !ok {
		return r, fmt.Errorf("%s: unexpected reply %q", what, line)
	}
	return r, nil
}
