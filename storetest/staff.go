package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/staff"
)

// ExerciseStaff runs the staff-store conformance suite; open is as for
// Exercise.
func ExerciseStaff(t *testing.T, open func(t *testing.T) staff.Store) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 123456000, time.UTC)
	u := &staff.User{ID: "usr_1", Username: "li.na", DisplayName: "李娜", Roles: []staff.Role{staff.Caller, staff.Agent},
		PasswordHash: "pbkdf2-sha256$1$AAAA$AAAA", CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	dup := *u
	dup.ID = "usr_2"
	if err := s.CreateUser(ctx, &dup); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("duplicate username: %v, want conflict", err)
	}
	for _, get := range []func() (*staff.User, error){
		func() (*staff.User, error) { return s.UserByName(ctx, "li.na") },
		func() (*staff.User, error) { return s.UserByID(ctx, "usr_1") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("user read back (-want +got):\n%s", diff)
		}
	}
	if _, err := s.UserByName(ctx, "nobody"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing user: %v", err)
	}
	if _, err := s.UserByName(ctx, "bad\x00name"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("NUL in a username: %v", err)
	}
	later := at.Add(time.Hour)
	u.Roles, u.Disabled, u.UpdatedAt, u.LastLoginAt = []staff.Role{staff.Analyst}, true, later, &later
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, "usr_1")
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("updated user (-want +got):\n%s", diff)
	}
	ghost := *u
	ghost.ID = "usr_none"
	if err := s.UpdateUser(ctx, &ghost); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("update of a missing user: %v", err)
	}
	other := &staff.User{ID: "usr_3", Username: "a.wang", Roles: []staff.Role{staff.Auditor}, PasswordHash: "x", CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	us, err := s.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Username != "a.wang" || us[1].Username != "li.na" {
		t.Fatalf("Users = %v, %v", us, err)
	}

	// Sessions.
	for _, h := range []string{"h1", "h2"} {
		if err := s.CreateSession(ctx, &staff.Session{Hash: h, UserID: "usr_1", CreatedAt: at, ExpiresAt: at.Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, &staff.Session{Hash: "h3", UserID: "usr_3", CreatedAt: at, ExpiresAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, &staff.Session{Hash: "h4", UserID: "usr_missing", CreatedAt: at, ExpiresAt: at}); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("session of a missing user: %v", err)
	}
	sess, err := s.SessionByHash(ctx, "h1")
	if err != nil || sess.UserID != "usr_1" || !sess.ExpiresAt.Equal(at.Add(8*time.Hour)) {
		t.Fatalf("SessionByHash = %+v, %v", sess, err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "h1"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("deleted session: %v", err)
	}
	hs, err := s.DeleteUserSessions(ctx, "usr_1")
	if err != nil || !slices.Equal(hs, []string{"h2"}) {
		t.Errorf("DeleteUserSessions = %v, %v", hs, err)
	}
	if _, err := s.SessionByHash(ctx, "h3"); err != nil {
		t.Errorf("another user's session went too: %v", err)
	}
}
