package browser

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const page = `<!doctype html><html><body><p id="x">before</p>
<script src="/s.js"></script></body></html>`

// The script changes the DOM only after a timer and a fetch, which is what
// the virtual time budget must wait for.
const script = `setTimeout(async () => {
  const r = await fetch("/data");
  document.getElementById("x").textContent = "after:" + (await r.text());
}, 500);`

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(page)) })
	mux.HandleFunc("/s.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(script))
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("42")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDOMAfterScripts(t *testing.T) {
	srv := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dom, err := BrowserDOM(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, `<p id="x">after:42</p>`) {
		t.Fatalf("script did not run before the dump:\n%s", dom)
	}
}

func TestScreenshotIsPNG(t *testing.T) {
	srv := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "shot.png")
	if err := BrowserScreenshot(ctx, srv.URL, file); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", b[:min(8, len(b))])
	}
}

func TestCancelledContextFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BrowserDOM(ctx, "about:blank"); err == nil {
		t.Fatal("no error with a cancelled context")
	}
}
