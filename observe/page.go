package observe

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// assets are the page's files: index.html, app.js and style.css, served
// as they are (no build step, nothing fetched from elsewhere).
//
//go:embed page
var assets embed.FS

// loaded is when the binary started: the assets' modification time.
var loaded = time.Now()

// pageHeaders sets the headers of the page and its assets: nothing but
// the handler's own origin may be loaded or framed.
func pageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
}

// servePage serves the live page. It attaches the handler's observer, so
// that the crashes that follow are timed.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if !h.attach(w) {
		return
	}
	serveFile(w, r, "index.html")
}

// serveAsset serves the page's script and style sheet.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	serveFile(w, r, r.PathValue("file"))
}

func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(assets, path.Join("page", path.Clean("/"+name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	pageHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, loaded, bytes.NewReader(b))
}
