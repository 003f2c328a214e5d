package region

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

// web holds the dashboard: plain HTML, CSS and JavaScript, no external
// resources.
//
//go:embed web
var web embed.FS

func (n *Node) page(name string) http.Handler {
	body, err := web.ReadFile("web/" + name)
	ctype := mime.TypeByExtension(path.Ext(name))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err != nil {
			http.Error(w, "page missing from build", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(body)
	})
}
