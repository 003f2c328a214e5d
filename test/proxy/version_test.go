package proxy

import (
	"bufio"
	"fmt"
	"net"
	"time"
)

// askVersion makes one version round trip to the proxy at addr on a new
// connection: the proof that it accepts and serves.
func askVersion(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Write([]byte("version\r\n")); err != nil {
		return err
	}
	l, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		return err
	}
	if l != "VERSION 1.6.18\r\n" {
		return fmt.Errorf("version: %q", l)
	}
	return nil
}
