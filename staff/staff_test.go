package staff

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/auth"
)

func TestLeastPrivilege(t *testing.T) {
	for _, tt := range []struct {
		role      Role
		may, mayN []string
	}{
		{Agent, []string{auth.ScopeDecisionsRead}, []string{ScopePIIUnmask, auth.ScopeRulesAdmin, auth.ScopeEventsWrite, auth.ScopeAdmin}},
		{Caller, []string{ScopePIIUnmask, auth.ScopeOutcomesWrite}, []string{auth.ScopeRulesAdmin, auth.ScopeListsAdmin, ScopeStaffAdmin}},
		{Complaints, []string{ScopePIIUnmask}, []string{auth.ScopeOutcomesWrite, auth.ScopeRulesAdmin}},
		{Compliance, []string{auth.ScopeRulesRead, ScopeAuditRead}, []string{ScopePIIUnmask, auth.ScopeRulesAdmin}},
		{Analyst, []string{auth.ScopeRulesAdmin, auth.ScopeListsAdmin}, []string{ScopePIIUnmask, ScopeStaffAdmin, auth.ScopeKeysAdmin}},
		{Auditor, []string{ScopeAuditRead}, []string{ScopePIIUnmask, auth.ScopeRulesAdmin, auth.ScopeOutcomesWrite}},
		{Admin, []string{ScopeStaffAdmin, auth.ScopeKeysAdmin}, []string{ScopePIIUnmask, auth.ScopeAdmin, auth.ScopeEventsWrite}},
	} {
		u := &User{Username: "u", Roles: []Role{tt.role}}
		p := u.Principal(time.Time{})
		for _, s := range tt.may {
			if !p.Allows(s) {
				t.Errorf("%s cannot %s", tt.role, s)
			}
		}
		for _, s := range tt.mayN {
			if p.Allows(s) {
				t.Errorf("%s can %s", tt.role, s)
			}
		}
	}
	// Roles add up, without duplicates.
	got := ScopesOf([]Role{Agent, Caller})
	if !slices.IsSorted(got) || slices.Compact(slices.Clone(got)) == nil || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("ScopesOf = %v", got)
	}
	// A disabled user may do nothing.
	u := &User{Username: "u", Roles: []Role{Caller}, Disabled: true}
	if u.Principal(time.Time{}).Allows(auth.ScopeDecisionsRead) {
		t.Error("a disabled user keeps their scopes")
	}
}

func TestValidateUser(t *testing.T) {
	for _, tt := range []struct {
		u    User
		want []string // fields
	}{
		{User{Username: "li.na", Roles: []Role{Caller}}, nil},
		{User{Username: "", Roles: []Role{Caller}}, []string{"username"}},
		{User{Username: "Li Na", Roles: []Role{Caller}}, []string{"username"}},
		{User{Username: "lina", Roles: nil}, []string{"roles"}},
		{User{Username: "lina", Roles: []Role{"root", Agent}}, []string{"roles[0]"}},
		{User{Username: "lina", DisplayName: strings.Repeat("李", 101), Roles: []Role{Agent}}, []string{"display_name"}},
	} {
		var got []string
		for _, fe := range ValidateUser(&tt.u, "") {
			got = append(got, fe.Field)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ValidateUser(%+v) fields %v, want %v", tt.u, got, tt.want)
		}
	}
}

func TestPassword(t *testing.T) {
	old := Iterations
	Iterations = 1000
	defer func() { Iterations = old }()
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyPassword(h, "correct horse battery") {
		t.Error("the right password does not verify")
	}
	for _, bad := range []string{"correct horse batter", "", "CORRECT HORSE BATTERY"} {
		if VerifyPassword(h, bad) {
			t.Errorf("%q verifies", bad)
		}
	}
	h2, _ := HashPassword("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, broken := range []string{"", "pbkdf2-sha256$x$a$b", "md5$1$a$b", "pbkdf2-sha256$1000$!!$AAAA", "pbkdf2-sha256$99999999$AAAA$AAAA"} {
		if VerifyPassword(broken, "x") {
			t.Errorf("malformed hash %q verifies", broken)
		}
	}
	if CheckPassword("short") == "" || CheckPassword("long enough password") != "" {
		t.Error("CheckPassword")
	}
}

func TestThrottle(t *testing.T) {
	th := NewThrottle()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for i := range 4 {
		th.Failed("lina", t0.Add(time.Duration(i)*time.Second))
	}
	if locked, _ := th.Locked("lina", t0.Add(5*time.Second)); locked {
		t.Fatal("locked after 4 failures")
	}
	th.Failed("lina", t0.Add(5*time.Second))
	locked, until := th.Locked("lina", t0.Add(6*time.Second))
	if !locked || !until.Equal(t0.Add(5*time.Second+15*time.Minute)) {
		t.Fatalf("after 5 failures: locked=%v until %v", locked, until)
	}
	if locked, _ := th.Locked("wang", t0.Add(6*time.Second)); locked {
		t.Error("another user is locked too")
	}
	if locked, _ := th.Locked("lina", until.Add(time.Second)); locked {
		t.Error("the lock does not lift")
	}
	// Failures spread beyond the window do not add up.
	th2 := NewThrottle()
	for i := range 10 {
		th2.Failed("zhao", t0.Add(time.Duration(i)*20*time.Minute))
	}
	if locked, _ := th2.Locked("zhao", t0.Add(181*time.Minute)); locked {
		t.Error("slow failures lock the user")
	}
	th.Succeeded("lina")
	if locked, _ := th.Locked("lina", t0.Add(7*time.Second)); locked {
		t.Error("success does not clear")
	}
}
