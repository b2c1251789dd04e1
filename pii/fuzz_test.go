package pii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	seeds := []string{
		"",
		"我的手机号是13812345678，身份证" + id18 + "，卡号" + group4(card19, " "),
		"收货地址：北京市朝阳区建国路88号5号楼，联系人张三，电话010-12345678",
		"邮箱 zhang.san@example.com 登录IP 192.168.1.10 和 2001:db8::8a2e:370:7334",
		"车牌京A12345，粤B·D12345，代码" + usccA + "，护照E12345678，通行证C12345678",
		"+86 138 1234 5678 / 0086-13812345678 / (021)87654321 / （0755）2345678 / 400-123-4567",
		"感谢王小明先生，客户李四反映，我叫欧阳娜娜",
		"订单号20261127031500 金额￥12,345.67 版本1.2.3.4.5",
		"\xff\xe4\xb8姓名：王五 \xe4 13812345678 😀",
		"1 1 1 1 1 1 1 1 1 1 13812345678 1 1",
		"a.b.c.d@e.f.g ::ffff:1.2.3.4 fe80::1%eth0",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(corpus(3, 2048, true))
}

// checkFindings verifies the invariants every caller relies on.
func checkFindings(t *testing.T, text string, fs []Finding) {
	t.Helper()
	// Rune boundaries as Go decodes the text (an invalid byte is one rune).
	bound := make([]int, len(text)+1) // rune index at each boundary, -1 elsewhere
	for i := range bound {
		bound[i] = -1
	}
	k := 0
	for i := range text {
		bound[i] = k
		k++
	}
	bound[len(text)] = k
	prevEnd := 0
	for i, f := range fs {
		if f.Start < prevEnd || f.End <= f.Start || f.End > len(text) {
			t.Fatalf("finding %d %+v out of order or bounds (prev end %d, len %d)", i, f, prevEnd, len(text))
		}
		if bound[f.Start] < 0 || bound[f.End] < 0 {
			t.Fatalf("finding %d %+v not on rune boundaries", i, f)
		}
		if f.RuneStart != bound[f.Start] || f.RuneEnd != bound[f.End] {
			t.Fatalf("finding %d %+v: rune offsets should be %d,%d", i, f, bound[f.Start], bound[f.End])
		}
		v := text[f.Start:f.End]
		if f.Masked == "" || f.Masked == v {
			t.Fatalf("finding %d %+v: not masked", i, f)
		}
		switch f.Type {
		case IDCN, MobileCN, LandlineCN, BankCard, USCC, Passport, HKMacauPermit, Email, IP, PlateCN, Name, Address:
		default:
			t.Fatalf("finding %d: unknown type %q", i, f.Type)
		}
		prevEnd = f.End
	}
}

// elsewhere reports whether v occurs in text other than exactly at one of
// the spans where it was found (then Redact may legitimately keep a copy).
func elsewhere(text, v string, fs []Finding) bool {
	for off := 0; ; {
		j := strings.Index(text[off:], v)
		if j < 0 {
			return false
		}
		pos := off + j
		found := false
		for _, f := range fs {
			if f.Start == pos && f.End == pos+len(v) {
				found = true
				break
			}
		}
		if !found {
			return true
		}
		off = pos + 1
	}
}

func FuzzScan(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := Scan(text)
		checkFindings(t, text, fs)
		out, _ := Redact(text)
		for _, f := range fs {
			v := text[f.Start:f.End]
			if len(v) >= 7 && strings.Contains(out, v) && !elsewhere(text, v, fs) {
				t.Fatalf("Redact output %q still contains %q", out, v)
			}
		}
	})
}

func FuzzRedact(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		out, fs := Redact(text)
		checkFindings(t, text, fs)
		if len(fs) == 0 {
			if out != text {
				t.Fatalf("no findings but output changed: %q -> %q", text, out)
			}
			return
		}
		// The output is the text with each span replaced, in order.
		var b strings.Builder
		prev := 0
		for _, f := range fs {
			b.WriteString(text[prev:f.Start])
			b.WriteString(f.Masked)
			prev = f.End
		}
		b.WriteString(text[prev:])
		if b.String() != out {
			t.Fatalf("Redact output does not match its findings")
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("Redact broke UTF-8: %q", out)
		}
		// Deterministic: scanning again gives the same answer.
		again := Scan(text)
		if len(again) != len(fs) {
			t.Fatalf("Scan not deterministic")
		}
		for i := range again {
			if again[i] != fs[i] {
				t.Fatalf("Scan not deterministic at %d", i)
			}
		}
		// Masks keep the layout of what they replace; only the e-mail stars
		// and the expanded IPv6 form (2001:db8:*:*:*:*:*:*) may be longer.
		for _, f := range fs {
			if f.Type != IP && utf8.RuneCountInString(f.Masked) > utf8.RuneCountInString(text[f.Start:f.End])+3 {
				t.Fatalf("mask %q of %q grows the text", f.Masked, text[f.Start:f.End])
			}
		}
	})
}

// TestMutatedCorpus applies the fuzz invariants to corpus text with random
// edits in the alphabet that matters (digits, separators, cue characters),
// which reaches deep states much faster than byte-level fuzzing.
func TestMutatedCorpus(t *testing.T) {
	g := newGen(99)
	base := corpus(98, 64<<10, true)
	alphabet := []string{"0", "1", "3", "8", "6", "X", "x", " ", "-", ".", "@", ":", "+", "(", ")", "（", "）",
		"市", "区", "路", "号", "先生", "姓名", "张", "欧阳", "京", "A", "D", "·", "\xe4", "\xff", "，", "的", "省"}
	iters := 5000
	if testing.Short() {
		iters = 300
	}
	for it := 0; it < iters; it++ {
		a := g.r.IntN(len(base) - 400)
		b := []byte(base[a : a+50+g.r.IntN(350)])
		for k := g.r.IntN(8); k > 0; k-- {
			p := g.r.IntN(len(b) + 1)
			ins := g.pick(alphabet)
			switch g.r.IntN(3) {
			case 0: // insert
				b = append(b[:p], append([]byte(ins), b[p:]...)...)
			case 1: // delete a byte
				if p < len(b) {
					b = append(b[:p], b[p+1:]...)
				}
			case 2: // duplicate a slice
				q := min(len(b), p+g.r.IntN(20))
				b = append(b[:q], append(append([]byte(nil), b[p:q]...), b[q:]...)...)
			}
		}
		text := string(b)
		fs := Scan(text)
		checkFindings(t, text, fs)
		out, _ := Redact(text)
		for _, f := range fs {
			v := text[f.Start:f.End]
			if len(v) >= 7 && strings.Contains(out, v) && !elsewhere(text, v, fs) {
				t.Fatalf("Redact(%q) = %q still contains %q", text, out, v)
			}
		}
	}
}
