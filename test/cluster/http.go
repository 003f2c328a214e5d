package cluster

import "github.com/cachesync/cachesync/cmd/local"

// HTTPGet fetches url with a short timeout and returns the body (at most
// 4 MiB) and the status code.
func HTTPGet(url string) ([]byte, int, error) { return local.HTTPGet(url) }
