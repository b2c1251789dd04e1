package privacy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/xiaobao-org/xiaobao"
)

// MaxConfigBytes bounds a privacy configuration file.
const MaxConfigBytes = 1 << 20

// configSpec is the YAML form of a Policy (docs/privacy.md shows one).
type configSpec struct {
	Calendar *struct {
		TimeZone string   `yaml:"time_zone"`
		Holidays []string `yaml:"holidays"`
		Workdays []string `yaml:"workdays"`
	} `yaml:"calendar"`
	ResponseDays *int `yaml:"response_days"`
	Retention    []struct {
		Category    string `yaml:"category"`
		RetainYears *int   `yaml:"retain_years"`
		Basis       string `yaml:"basis"`
		Otherwise   string `yaml:"otherwise"`
	} `yaml:"retention"`
}

// ParsePolicy reads a firm's privacy configuration: the working-day
// calendar (the State Council's holidays and 调休 working days for the
// year), the response time in working days, and retention rules that
// replace the defaults category by category. What the file leaves out keeps
// its default. Every mistake is reported at once, each naming its field.
func ParsePolicy(src []byte) (*Policy, error) {
	if len(src) > MaxConfigBytes {
		return nil, xiaobao.Invalid("the privacy configuration is invalid",
			xiaobao.FieldError{Field: "", Reason: fmt.Sprintf("is larger than %d bytes", MaxConfigBytes)})
	}
	var spec configSpec
	if err := yaml.UnmarshalWithOptions(src, &spec, yaml.DisallowUnknownField()); err != nil {
		return nil, xiaobao.Invalid("the privacy configuration is invalid",
			xiaobao.FieldError{Field: "", Reason: "is not valid YAML for this file: " + firstLine(err)})
	}
	p := DefaultPolicy()
	var fe []xiaobao.FieldError
	bad := func(field, why string) { fe = append(fe, xiaobao.FieldError{Field: field, Reason: why}) }
	if c := spec.Calendar; c != nil {
		var loc *time.Location
		if c.TimeZone != "" {
			l, err := time.LoadLocation(c.TimeZone)
			if err != nil {
				bad("calendar.time_zone", "is not a known time zone (e.g. Asia/Shanghai)")
			} else {
				loc = l
			}
		}
		cal, err := NewCalendar(loc, c.Holidays, c.Workdays)
		for _, e := range xiaobao.ErrorFields(err) {
			bad("calendar."+e.Field, e.Reason)
		}
		if err == nil {
			p.Calendar = cal
		}
	}
	if d := spec.ResponseDays; d != nil {
		if *d < 1 || *d > 60 {
			bad("response_days", "must be a whole number of working days from 1 to 60")
		} else {
			p.ResponseDays = *d
		}
	}
	rules := slices.Clone(p.Rules)
	seen := map[Category]bool{}
	for i, r := range spec.Retention {
		f := fmt.Sprintf("retention[%d]", i)
		cat := Category(r.Category)
		j := slices.IndexFunc(rules, func(x Rule) bool { return x.Category == cat })
		switch {
		case r.Category == "":
			bad(f+".category", "is required")
			continue
		case j < 0:
			bad(f+".category", "must be one of "+categoryNames())
			continue
		case seen[cat]:
			bad(f+".category", r.Category+" is configured twice")
			continue
		}
		seen[cat] = true
		rule := rules[j]
		if r.RetainYears != nil {
			if *r.RetainYears < 0 || *r.RetainYears > 100 {
				bad(f+".retain_years", "must be a whole number of years from 0 to 100")
			} else {
				rule.RetainYears = *r.RetainYears
			}
		}
		if r.Basis != "" || r.RetainYears != nil {
			rule.Basis = r.Basis
		}
		if cat == Conversations && rule.RetainYears > 0 {
			// Restricting them would mean moving transcripts to a store of
			// their own, sealed and swept, which the platform does not have:
			// conversations are anonymised or deleted when erased.
			bad(f+".retain_years", "must be 0 for conversations: they cannot be kept under restriction, only anonymised or deleted")
			rule.RetainYears, rule.Basis = 0, ""
		}
		if rule.RetainYears > 0 && strings.TrimSpace(rule.Basis) == "" {
			bad(f+".basis", "must name the legal obligation that requires keeping the data")
		}
		switch Disposal(r.Otherwise) {
		case "":
		case Delete, Anonymise:
			rule.Otherwise = Disposal(r.Otherwise)
		default:
			bad(f+".otherwise", "must be delete or anonymise")
		}
		if rule.RetainYears > 0 && rule.Otherwise == Anonymise {
			// A restricted category is moved out of the working tables
			// whole; at the end of its retention it can only be deleted.
			bad(f+".otherwise", "must be delete for a category kept under a retention period")
		}
		rules[j] = rule
	}
	p.Rules = rules
	if err := invalid("the privacy configuration is invalid", fe); err != nil {
		return nil, err
	}
	return p, nil
}

func categoryNames() string {
	names := make([]string, 0, len(DefaultRules))
	for _, r := range DefaultRules {
		names = append(names, string(r.Category))
	}
	return strings.Join(names, ", ")
}

// firstLine keeps a YAML error to its first line: the library adds a
// source excerpt, which may quote the file's values.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
