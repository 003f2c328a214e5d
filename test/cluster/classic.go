package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ClassicGet reads key through a proxy with a classic get, which the proxy
// answers as a miss for a stale item: what a classic client would see.
func ClassicGet(addr, key string) (value string, ok bool, err error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	vals, err := ClassicGetMulti(bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), key)
	if err != nil {
		return "", false, err
	}
	v, ok := vals[key]
	return v, ok, nil
}

// ClassicGetMulti sends one `get k1 k2 …` on rw and returns the hits.
func ClassicGetMulti(rw *bufio.ReadWriter, keys ...string) (map[string]string, error) {
	fmt.Fprintf(rw, "get %s\r\n", strings.Join(keys, " "))
	if err := rw.Flush(); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	out := map[string]string{}
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return out, nil
		}
		var key string
		var flags, size int
		if _, err := fmt.Sscanf(line, "VALUE %s %d %d", &key, &flags, &size); err != nil {
			return nil, fmt.Errorf("get: unexpected reply %q", line)
		}
		data := make([]byte, size+2)
		if _, err := io.ReadFull(rw, data); err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		out[key] = string(data[:size])
	}
}
