package http

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/console"
)

// consoleCSP keeps the console to its own origin: scripts, styles, data and
// fonts come from this server only, nothing is framed and nothing inline
// runs. Charts draw on canvas; exported images are data: URLs.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleFile is one embedded file, read once, with its validator.
type consoleFile struct {
	body  []byte
	ctype string
	etag  string
}

var (
	consoleOnce  sync.Once
	consoleFiles map[string]*consoleFile
)

// loadConsole reads the embedded files once.
func loadConsole() map[string]*consoleFile {
	consoleOnce.Do(func() {
		consoleFiles = map[string]*consoleFile{}
		fsys := console.Files()
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			ct := mime.TypeByExtension(path.Ext(p))
			switch path.Ext(p) {
			case ".js", ".mjs":
				ct = "text/javascript; charset=utf-8"
			case ".json":
				ct = "application/json"
			case ".txt":
				ct = "text/plain; charset=utf-8"
			}
			if ct == "" {
				ct = "application/octet-stream"
			}
			sum := sha256.Sum256(b)
			consoleFiles[p] = &consoleFile{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
			return nil
		})
	})
	return consoleFiles
}

// serveConsoleFile writes an embedded file with the console's security
// headers; the browser revalidates it by ETag, so a new binary's files are
// seen at once.
func serveConsoleFile(w http.ResponseWriter, r *http.Request, f *consoleFile) {
	h := w.Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, http.StatusOK, f.ctype, f.body)
}

// handleConsoleIndex serves the console's page at /.
func handleConsoleIndex(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		serveConsoleFile(w, r, loadConsole()["index.html"])
	}
}

// handleConsoleAsset serves the console's scripts, styles, catalogues and
// the vendored chart library.
func handleConsoleAsset(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		f := loadConsole()[r.PathValue("file")]
		if f == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no console file %q", r.PathValue("file")))
			return
		}
		serveConsoleFile(w, r, f)
	}
}
