package cluster

import (
	"fmt"
	"os"
	"strings"
)

// WriteProxyConfig writes a config file for `cachesync proxy --config`:
// the proxy on listen in front of servers, its HTTP on httpAddr, gossip on
// a free port, and proxyKeys (YAML lines, indented two spaces, each ending
// in a newline) added to its proxy section. It returns the file's path.
func WriteProxyConfig(t TB, listen, httpAddr string, servers []string, proxyKeys string) string {
	t.Helper()
	conf := fmt.Sprintf("region: test\nnode: proxy-%s\nmemcache:\n  servers: [%s]\nproxy:\n  listen: %s\n%scluster:\n  bind: 127.0.0.1:0\nhttp:\n  listen: %s\n",
		strings.ReplaceAll(listen, ":", "-"), strings.Join(servers, ", "), listen, proxyKeys, httpAddr)
	f, err := os.CreateTemp("", "cachesync-proxy-*.yaml")
	if err != nil {
		t.Fatalf("proxy config: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(f.Name()) })
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("write proxy config %s: %v", f.Name(), err)
	}
	return f.Name()
}
