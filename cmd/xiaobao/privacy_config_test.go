package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPrivacyConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "privacy.yaml")
	if err := os.WriteFile(good, []byte("calendar:\n  holidays: [\"2026-10-01\"]\nresponse_days: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := loadPrivacyConfig(good)
	if err != nil || p.ResponseDays != 10 {
		t.Fatalf("load: %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("response_days: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPrivacyConfig(bad); err == nil || !strings.Contains(err.Error(), "response_days") || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad file: %v, want an error naming the file and the field", err)
	}
	if _, err := loadPrivacyConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}
