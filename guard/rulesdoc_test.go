package guard_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
)

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

// TestRulesDoc keeps the built-in rule table of docs/rules.md generated from
// the pack itself: ids, names, nodes, steps and the features each rule reads.
func TestRulesDoc(t *testing.T) {
	const path = "../docs/rules.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("docs/rules.md not readable: %v", err)
	}
	doc := string(b)
	begin := strings.Index(doc, "<!-- rules:begin")
	end := strings.Index(doc, "<!-- rules:end -->")
	if begin < 0 || end < begin {
		t.Fatal("docs/rules.md lacks the rules:begin/rules:end markers")
	}
	begin += strings.Index(doc[begin:], "\n") + 1
	p, err := guard.ParsePack(guard.BuiltinPack())
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("| id | name | typology | nodes | action (score) | mode | reads |\n|---|---|---|---|---|---|---|\n")
	for _, r := range p.Rules {
		nodes := strings.Join(r.Nodes, ", ")
		if len(r.Nodes) == 1 && r.Nodes[0] == "*" {
			nodes = "all"
		}
		reads := make([]string, len(r.Reads()))
		for i, v := range r.Reads() {
			reads[i] = "`" + v + "`"
		}
		fmt.Fprintf(&sb, "| `%s` | %s<br>%s | %s | %s | %s (%.2g) | %s | %s |\n",
			r.ID, r.Name.EN, r.Name.ZH, r.Typology, nodes, r.MinAction(), r.Score, r.Mode, strings.Join(reads, ", "))
	}
	want := doc[:begin] + sb.String() + doc[end:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("docs/rules.md rule table is out of date: run go test ./guard -run TestRulesDoc -update")
}
