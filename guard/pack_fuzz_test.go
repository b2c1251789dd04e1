package guard

import (
	"testing"

	"github.com/xiaobao-org/xiaobao"
)

// FuzzParsePack feeds arbitrary bytes to the rule-pack loader: it must never
// panic, must answer with an EINVALID error naming fields or a pack whose
// rules all compiled, and an accepted pack must build a ruleset and decide.
func FuzzParsePack(f *testing.F) {
	f.Add([]byte(ladderPack))
	f.Add(BuiltinPack())
	f.Add([]byte("pack: x\nrules: []\n"))
	f.Add([]byte("pack: x\nrules: [{id: A, when: 'event.amount >', nodes: [transfer]}]\n"))
	f.Add([]byte("pack: x\nsettings: {thresholds: {hold: 2}}\n"))
	f.Add([]byte("{{{{"))
	f.Add([]byte("pack: &a [*a]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParsePack(src)
		if err != nil {
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(xiaobao.ErrorFields(err)) == 0 {
				t.Fatalf("error without field details: %v", err)
			}
			return
		}
		for _, r := range p.Rules {
			if r.program == nil || r.ID == "" || r.Code == "" {
				t.Fatalf("accepted an incomplete rule: %+v", r.RuleSpec)
			}
		}
		rs, err := NewRuleset(p)
		if err != nil {
			return // only a cross-pack conflict can fail here, and there is one pack
		}
		e := NewEngine(rs)
		d := e.Decide(mkEvent("f", Transfer, t0, "c", amount(100), payee("p")))
		if d.Score < 0 || d.Score > 1 || d.Action > Block {
			t.Fatalf("bad decision from an accepted pack: %+v", d)
		}
	})
}
