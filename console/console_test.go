package console

import (
	"encoding/json"
	"io/fs"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/report"
	"github.com/xiaobao-org/xiaobao/service"
)

func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(Files(), "i18n/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	return m
}

// TestCataloguesMatch checks that every language has every message, none
// empty, with the same placeholders.
func TestCataloguesMatch(t *testing.T) {
	zh := catalogue(t, Languages[0])
	ph := regexp.MustCompile(`\{\w+\}`)
	for _, lang := range Languages[1:] {
		other := catalogue(t, lang)
		for _, k := range slices.Sorted(maps.Keys(zh)) {
			v, ok := other[k]
			switch {
			case !ok:
				t.Errorf("%s lacks %q", lang, k)
			case v == "" || zh[k] == "":
				t.Errorf("%q is empty in one language", k)
			case !slices.Equal(slices.Sorted(slices.Values(ph.FindAllString(v, -1))), slices.Sorted(slices.Values(ph.FindAllString(zh[k], -1)))):
				t.Errorf("%q: placeholders differ: %q vs %q", k, zh[k], v)
			}
		}
		for k := range other {
			if _, ok := zh[k]; !ok {
				t.Errorf("%s has %q, which zh-CN lacks", lang, k)
			}
		}
	}
}

// TestEveryStringInCatalogue checks that every message the page and the
// scripts name exists, and that every vocabulary value the server sends
// (actions, journey nodes, outcomes, figures, the service module's
// warnings, session states, turn roles, default queues and their
// strategies) has a translation.
func TestEveryStringInCatalogue(t *testing.T) {
	zh := catalogue(t, "zh-CN")
	files := Files()
	literal := regexp.MustCompile(`\bt\('([a-z_0-9.]*[a-z0-9])'`)
	attr := regexp.MustCompile(`data-i18n(?:-aria|-ph)?="([a-z_0-9.]+)"`)
	keyish := regexp.MustCompile(`'((?:dash|dec|rules|lists|graph|fig|login|app|cases|svc)\.[a-z_0-9]*[a-z0-9])'`)
	n := 0
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "vendor/") || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html")) {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		for _, re := range []*regexp.Regexp{literal, attr, keyish} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				n++
				if _, ok := zh[m[1]]; !ok {
					t.Errorf("%s names %q, which is in no catalogue", p, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("only %d message keys found in the console: the scan is broken", n)
	}
	var want []string
	for _, a := range guard.Actions {
		want = append(want, "action."+a.String())
	}
	for _, e := range guard.EventTypes {
		want = append(want, "node."+string(e))
	}
	for _, o := range guard.OutcomeKinds {
		want = append(want, "outcome."+string(o))
	}
	for _, k := range guard.EntityKinds {
		want = append(want, "kind."+string(k))
	}
	for _, k := range []string{service.ScamVictim, service.ComplaintRisk, service.Vulnerable} {
		want = append(want, "svcwarn."+k)
	}
	for _, st := range []string{service.StatusOpen, service.StatusQueued, service.StatusHandedOff, service.StatusClosed} {
		want = append(want, "svcstatus."+st)
	}
	for _, r := range []string{service.RoleCustomer, service.RoleBot, service.RoleAgent, service.RoleSystem} {
		want = append(want, "svcrole."+r)
	}
	for _, q := range service.DefaultQueues(time.Time{}) {
		want = append(want, "svcqueue."+q.Name, "svcstrategy."+string(q.Strategy))
	}
	ft := reflect.TypeFor[report.Figures]()
	for i := range ft.NumField() {
		want = append(want, "fig."+strings.Split(ft.Field(i).Tag.Get("json"), ",")[0])
	}
	for _, k := range want {
		if _, ok := zh[k]; !ok {
			t.Errorf("no message for %q", k)
		}
	}
}

// TestTypologiesTranslated checks that every typology of the built-in pack
// has a name in the catalogues.
func TestTypologiesTranslated(t *testing.T) {
	zh := catalogue(t, "zh-CN")
	p, err := guard.ParsePack(guard.BuiltinPack())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Spec.Rules {
		if _, ok := zh["typology."+r.Typology]; !ok && r.Typology != "" {
			t.Errorf("typology %q of rule %s has no name", r.Typology, r.ID)
		}
	}
}

// TestNoExternalReferences checks that the console's own files load
// nothing from elsewhere: every asset is embedded and served by xiaobao.
func TestNoExternalReferences(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["'](https?:)?//|fetch\(\s*['"]https?:|import\s*\(?\s*['"]https?:|url\(\s*['"]?https?:`)
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "vendor/") {
			return err
		}
		b, err := fs.ReadFile(Files(), p)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers outside the server: %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
