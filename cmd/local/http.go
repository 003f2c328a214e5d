package local

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

var httpClient = &http.Client{Timeout: 2 * time.Second}

// HTTPGet fetches url with a short timeout and returns the body (at most
// 4 MiB) and the status code.
func HTTPGet(url string) ([]byte, int, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", url, err)
	}
	return body, resp.StatusCode, nil
}

// Readyz is one probe of a cachesync process's /readyz on httpAddr: nil
// when it answers 200.
func Readyz(httpAddr string) error {
	body, code, err := HTTPGet("http://" + httpAddr + "/readyz")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("readyz %d: %s", code, body)
	}
	return nil
}
