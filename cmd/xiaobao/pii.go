package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/xiaobao-org/xiaobao/pii"
)

// piiCmd is `xiaobao pii scan [--redact] [--json] [--fail] FILE...`: it
// finds personal data in text files (logs, exports, complaint dumps) line by
// line. Findings are printed masked, never as found, so the report itself
// can be shared; --redact writes the masked text instead; --fail makes the
// exit status 1 when anything is found, for CI checks of logs and exports.
func piiCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "scan" {
		fmt.Fprintln(stderr, "usage: xiaobao pii scan [--redact] [--json] [--fail] FILE... (- for standard input)")
		return errUsage
	}
	fs := flag.NewFlagSet("pii scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redact := fs.Bool("redact", false, "write each file with its personal data masked instead of a report")
	asJSON := fs.Bool("json", false, "report findings as JSON lines")
	fail := fs.Bool("fail", false, "exit with status 1 if any personal data is found")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "pii scan: name at least one FILE (- for standard input)")
		return errUsage
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	counts := map[pii.Type]int{}
	total := 0
	for _, name := range fs.Args() {
		var r io.Reader = stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("pii scan: %w", err)
			}
			defer f.Close()
			r = f
		}
		n, err := scanPII(name, r, out, *redact, *asJSON, counts)
		total += n
		if err != nil {
			return fmt.Errorf("pii scan %s: %w", name, err)
		}
	}
	if !*redact && !*asJSON {
		types := make([]string, 0, len(counts))
		for t := range counts {
			types = append(types, string(t))
		}
		sort.Strings(types)
		parts := make([]string, len(types))
		for i, t := range types {
			parts[i] = fmt.Sprintf("%s %d", t, counts[pii.Type(t)])
		}
		fmt.Fprintf(out, "%d findings", total)
		if len(parts) > 0 {
			fmt.Fprintf(out, " (%s)", strings.Join(parts, ", "))
		}
		fmt.Fprintln(out)
	}
	if *fail && total > 0 {
		out.Flush()
		return errFound
	}
	return nil
}

// errFound is pii scan --fail's "something was found": exit status 1
// without an error message, like grep.
var errFound = errors.New("personal data found")

type piiFindingJSON struct {
	File   string   `json:"file"`
	Line   int      `json:"line"`
	Column int      `json:"column"` // in characters, from 1
	Type   pii.Type `json:"type"`
	Masked string   `json:"masked"`
}

// scanPII scans r line by line; a line may be of any length.
func scanPII(name string, r io.Reader, out *bufio.Writer, redact, asJSON bool, counts map[pii.Type]int) (int, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	enc := json.NewEncoder(out)
	total := 0
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if redact {
				masked, fs := pii.Redact(line)
				total += len(fs)
				out.WriteString(masked)
			} else {
				for _, f := range pii.Scan(line) {
					total++
					counts[f.Type]++
					if asJSON {
						if err := enc.Encode(piiFindingJSON{name, lineNo, f.RuneStart + 1, f.Type, f.Masked}); err != nil {
							return total, err
						}
					} else {
						fmt.Fprintf(out, "%s:%d:%d\t%s\t%s\n", name, lineNo, f.RuneStart+1, f.Type, f.Masked)
					}
				}
			}
		}
		if err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
	}
}
