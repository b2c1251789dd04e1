// Package console is xiaobao's web console for staff: the dashboard of
// headline figures, decisions with their explanations, rule packs (edit,
// validate, diff, backtest, activate, roll back), block and allow lists,
// the entity graph and, where the server has them, cases. It is plain
// HTML, CSS and ES modules with no build step, embedded in the binary with
// the one third-party file it uses (Apache ECharts, Apache-2.0, under
// static/vendor with its licence and notice), and it makes no request
// anywhere but the server that serves it.
//
// Every user-facing string is in the message catalogues static/i18n/*.json
// (Simplified Chinese first, English second).
package console

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Files returns the console's files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Languages lists the message catalogues, the default first.
var Languages = []string{"zh-CN", "en"}
