package cases

import (
	_ "embed"
	"fmt"
	"sort"

	"github.com/goccy/go-yaml"
)

// Text is a text in Simplified Chinese and English.
type Text struct {
	ZH string `yaml:"zh" json:"zh"`
	EN string `yaml:"en" json:"en"`
}

// Script is what a caller says on a dissuasion call about one typology.
type Script struct {
	Typology string `yaml:"-" json:"typology"`
	Title    Text   `yaml:"title" json:"title"`
	Steps    []Text `yaml:"steps" json:"steps"`
}

//go:embed scripts.yaml
var scriptsYAML []byte

// scripts holds the call scripts by typology; "default" serves the rest.
var scripts = func() map[string]*Script {
	m := map[string]*Script{}
	if err := yaml.UnmarshalWithOptions(scriptsYAML, &m, yaml.DisallowUnknownField()); err != nil {
		panic(fmt.Sprintf("cases: scripts.yaml: %v", err))
	}
	for k, s := range m {
		s.Typology = k
	}
	return m
}()

// ScriptFor returns the call script of a typology, the default script if
// it has none of its own.
func ScriptFor(typology string) *Script {
	if s := scripts[typology]; s != nil {
		return s
	}
	return scripts["default"]
}

// ScriptTypologies lists the typologies with a script of their own.
func ScriptTypologies() []string {
	out := make([]string, 0, len(scripts))
	for k := range scripts {
		if k != "default" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
