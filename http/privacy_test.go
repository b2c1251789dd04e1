package http

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
)

func TestRedact(t *testing.T) {
	f := setup(t)
	key := f.newKey(auth.ScopePrivacyRedact)
	type finding struct {
		Type       string
		Start, End int
		Masked     string
	}
	type redaction struct {
		Text     string
		Findings []finding
	}
	t.Run("masks and locates", func(t *testing.T) {
		// 110101199003074514 is a valid resident ID (GB 11643 check digit X/4).
		text := `客户张先生来电，手机13812345678，身份证110101199003074514，说"客服"让他注销学生贷。`
		w := f.do(request{method: "POST", path: "/v1/privacy/redact", key: key, body: `{"text":` + jsonString(text) + `}`})
		wantStatus(t, w, 200)
		got := decode[redaction](t, w)
		if strings.Contains(got.Text, "13812345678") || strings.Contains(got.Text, "110101199003074514") {
			t.Fatalf("text still holds PII: %s", got.Text)
		}
		if !strings.Contains(got.Text, "138****5678") || !strings.Contains(got.Text, "110101********4514") {
			t.Errorf("masked text = %s", got.Text)
		}
		runes := []rune(text)
		types := map[string]string{}
		for _, fd := range got.Findings {
			if fd.Start < 0 || fd.End > len(runes) || fd.Start >= fd.End {
				t.Fatalf("finding %+v out of range", fd)
			}
			types[fd.Type] = string(runes[fd.Start:fd.End])
		}
		if types["mobile_cn"] != "13812345678" || types["id_cn"] != "110101199003074514" {
			t.Errorf("findings %+v (spans %v)", got.Findings, types)
		}
		// The response never repeats a raw value.
		if body := w.Body.String(); strings.Contains(body, "13812345678") {
			t.Errorf("response carries the raw phone number: %s", body)
		}
	})
	t.Run("nothing to find", func(t *testing.T) {
		w := f.do(request{method: "POST", path: "/v1/privacy/redact", key: key, body: `{"text":"请问怎么提前还款？订单号 20260101"}`})
		wantStatus(t, w, 200)
		got := decode[redaction](t, w)
		if got.Text != "请问怎么提前还款？订单号 20260101" || len(got.Findings) != 0 {
			t.Errorf("got %+v", got)
		}
		if !strings.Contains(w.Body.String(), `"findings":[]`) {
			t.Errorf("findings must be an empty array, not null: %s", w.Body.String())
		}
	})
	for _, tt := range []struct{ name, body, field string }{
		{"missing text", `{}`, "text"},
		{"empty text", `{"text":""}`, "text"},
		{"number", `{"text":12}`, "text"},
		{"unknown member", `{"text":"x","lang":"zh"}`, "lang"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(request{method: "POST", path: "/v1/privacy/redact", key: key, body: tt.body})
			wantProblem(t, w, 400, "invalid", tt.field)
		})
	}
	t.Run("needs the scope", func(t *testing.T) {
		other := f.newKey(auth.ScopeEventsWrite)
		wantProblem(t, f.do(request{method: "POST", path: "/v1/privacy/redact", key: other, body: `{"text":"x"}`}), 403, "forbidden")
	})
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
