package proxy

import (
	"bytes"
	"strconv"

	"github.com/cachesync/cachesync/lease/backend"
	"github.com/cachesync/cachesync/lease/memproto"
)

// statsForwarded are the "stats <group>" memcached answers with STAT lines
// and END (or RESET), which the backend reader can frame.
var statsForwarded = map[string]bool{
	"settings": true, "items": true, "slabs": true, "sizes": true, "conns": true, "reset": true,
}

// stats answers "stats" with the first reachable server's stats followed by
// the proxy's own counters; "stats <group>" goes to the first server.
func (c *client) stats(req *memproto.Request) {
	if len(req.Tokens) > 1 {
		if !statsForwarded[string(req.Tokens[1])] || len(req.Tokens) > 2 {
			c.line(memproto.ReplyError)
			return
		}
		op := c.op(0)
		op.Kind = backend.ReplyStats
		b := append(op.Req[:0], "stats "...)
		b = append(b, req.Tokens[1]...)
		op.Req = append(b, "\r\n"...)
		c.s.pool.Do(0, op)
		if op.Wait() != nil {
			c.backendDown(false)
			return
		}
		_, _ = c.w.Write(op.Reply)
		return
	}
	up := c.s.pool.ServersUp()
	for i, st := range up {
		if !st.Up {
			continue
		}
		op := c.op(0)
		op.Kind = backend.ReplyStats
		op.Req = append(op.Req[:0], "stats\r\n"...)
		c.s.pool.Do(i, op)
		if op.Wait() == nil {
			_, _ = c.w.Write(bytes.TrimSuffix(op.Reply, []byte("END\r\n")))
			break
		}
	}
	st := c.s.Stats()
	stat := func(name string, v uint64) {
		b := append(c.scratch[:0], "STAT "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = memproto.AppendUint(b, v)
		c.scratch = append(b, "\r\n"...)
		_, _ = c.w.Write(c.scratch)
	}
	stat("proxy_connections", uint64(max(st.Connections, 0)))
	stat("proxy_total_connections", st.TotalConnections)
	stat("proxy_cmd_get", st.CmdGet)
	stat("proxy_cmd_set", st.CmdSet)
	stat("proxy_cmd_lease_get", st.CmdLeaseGet)
	stat("proxy_cmd_lease_set", st.CmdLeaseSet)
	stat("proxy_cmd_meta", st.CmdMeta)
	stat("proxy_hits", st.Hits)
	stat("proxy_misses", st.Misses)
	stat("proxy_leases_granted", st.LeasesGranted)
	stat("proxy_hot_misses", st.HotMisses)
	stat("proxy_stale_served", st.StaleServed)
	stat("proxy_lease_sets_rejected", st.LeaseSetsRejected)
	stat("proxy_leases_released", st.LeasesReleased)
	stat("proxy_backend_errors", st.BackendErrors)
	stat("proxy_gutter_keys", st.GutterKeys)
	for i, s := range up {
		v := uint64(0)
		if s.Up {
			v = 1
		}
		stat("proxy_server_"+strconv.Itoa(i)+"_up", v)
	}
	_, _ = c.w.WriteString("END\r\n")
}

// flushAll sends flush_all to every server when allowed: it empties the
// whole pool, which an operator must opt into.
func (c *client) flushAll(req *memproto.Request) {
	if !c.s.cfg.AllowFlush {
		c.reply(req, "CLIENT_ERROR flush_all not allowed")
		return
	}
	toks := req.Tokens
	if req.Noreply {
		toks = toks[:len(toks)-1]
	}
	n := c.s.pool.NumServers()
	first := c.op(0)
	first.Req = appendTokens(first.Req[:0], toks)
	for i := range n {
		op := c.op(i)
		op.Kind = backend.ReplyLine
		if i > 0 {
			op.Req = append(op.Req[:0], first.Req...)
		}
		c.s.pool.Do(i, op)
	}
	var bad []byte
	for i := range n {
		op := c.ops[i]
		if op.Wait() != nil {
			c.backendError()
			bad = []byte(replyBackendDown + "\r\n")
			continue
		}
		if bad == nil && !bytes.Equal(op.Reply, []byte("OK\r\n")) {
			bad = op.Reply
		}
	}
	if req.Noreply {
		return
	}
	if bad != nil {
		_, _ = c.w.Write(bad)
		return
	}
	c.line("OK")
}
