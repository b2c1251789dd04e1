package faq

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed t2s.txt
var t2sText string

// t2s maps a traditional character to its simplified form.
var t2s = sync.OnceValue(func() map[rune]rune {
	m := make(map[rune]rune, 4200)
	for line := range strings.Lines(t2sText) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, n := utf8.DecodeRuneInString(line)
		v, _ := utf8.DecodeRuneInString(line[n:])
		if k != utf8.RuneError && v != utf8.RuneError && v != '\n' {
			m[k] = v
		}
	}
	return m
})

// foldRune maps one rune to its normal form: full-width to half-width,
// the ideographic space to a space, upper to lower case, traditional to
// simplified. It returns -1 for runes that carry no meaning for matching
// (spaces, punctuation, symbols, controls).
func foldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r == 0x3000:
		return -1
	}
	if r < utf8.RuneSelf {
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		}
		return -1
	}
	if s, ok := t2s()[r]; ok {
		r = s
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return unicode.ToLower(r)
	}
	if unicode.IsNumber(r) { // ①, Ⅻ: keep as they are
		return r
	}
	return -1
}

// normalizer rewrites texts to the form they are matched in. It is
// immutable once made.
type normalizer struct {
	// variants maps the first rune of a variant to its variants, longest
	// first.
	variants map[rune][]variant
}

type variant struct {
	from []rune
	to   []rune
}

// foldString applies foldRune to each rune.
func foldString(s string) []rune {
	out := make([]rune, 0, len(s)/2)
	for _, r := range s {
		if f := foldRune(r); f >= 0 {
			out = append(out, f)
		}
	}
	return out
}

// newNormalizer makes a normaliser from the built-in synonyms and extra
// ones (which win on the same variant). A variant that would make the
// rewriting unstable (one whose term contains a variant) is dropped.
func newNormalizer(extra []Synonym) *normalizer {
	rules := map[string]string{}
	add := func(list []Synonym) {
		for _, s := range list {
			term := string(foldString(s.Term))
			if term == "" {
				continue
			}
			for _, v := range s.Variants {
				if f := string(foldString(v)); f != "" && f != term {
					rules[f] = term
				}
			}
		}
	}
	add(DefaultSynonyms)
	add(extra)
	for _, f := range DefaultFillers {
		if _, ok := rules[f]; !ok {
			rules[f] = ""
		}
	}
	// A term must not contain a variant, or normalising twice would
	// differ from normalising once.
	for from, to := range rules {
		for other := range rules {
			if to != "" && strings.Contains(to, other) {
				delete(rules, from)
				break
			}
		}
	}
	n := &normalizer{variants: map[rune][]variant{}}
	for from, to := range rules {
		v := variant{from: []rune(from), to: []rune(to)}
		n.variants[v.from[0]] = append(n.variants[v.from[0]], v)
	}
	for r, vs := range n.variants {
		slices.SortFunc(vs, func(a, b variant) int {
			if len(a.from) != len(b.from) {
				return len(b.from) - len(a.from)
			}
			return slices.Compare(a.from, b.from)
		})
		n.variants[r] = vs
	}
	return n
}

// runes returns the normal form of s as runes.
func (n *normalizer) runes(s string) []rune {
	in := foldString(s)
	// Rewriting can join two pieces into a new variant; repeat until
	// nothing changes (bounded: rules only ever rewrite to terms that
	// hold no variant).
	for range 4 {
		out, changed := n.rewrite(in)
		if !changed {
			return out
		}
		in = out
	}
	return in
}

func (n *normalizer) rewrite(in []rune) ([]rune, bool) {
	if len(n.variants) == 0 {
		return in, false
	}
	var out []rune
	changed := false
	for i := 0; i < len(in); {
		matched := false
		for _, v := range n.variants[in[i]] {
			if len(v.from) <= len(in)-i && slices.Equal(v.from, in[i:i+len(v.from)]) {
				if out == nil {
					out = make([]rune, i, len(in)+8)
					copy(out, in[:i])
				}
				out = append(out, v.to...)
				i += len(v.from)
				matched, changed = true, true
				break
			}
		}
		if !matched {
			if out != nil {
				out = append(out, in[i])
			}
			i++
		}
	}
	if !changed {
		return in, false
	}
	return out, true
}

var defaultNormalizer = sync.OnceValue(func() *normalizer { return newNormalizer(nil) })

// Normalize returns the form a text is matched in: full-width forms made
// half-width, traditional characters simplified, Latin letters lower
// case, spaces, punctuation and symbols removed, and the trade's
// misspellings, homophones and synonyms (DefaultSynonyms) rewritten to
// their canonical terms (花贝 → 花呗, 借吧 → 借呗, 提高额度 → 提额).
// Normalize is idempotent.
func Normalize(s string) string {
	return string(defaultNormalizer().runes(s))
}
