package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPIIScan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	text := "客户手机13812345678，要求注销学生贷\n身份证110101199003074514\n请问怎么提前还款\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	runPII := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"xiaobao", "pii", "scan"}, args...), func(string) string { return "" },
			strings.NewReader("电话 13900001111\n"), &stdout, &stderr)
		return stdout.String(), err
	}
	out, err := runPII(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{path + ":1:5\tmobile_cn\t138****5678", path + ":2:4\tid_cn\t110101********4514", "2 findings (id_cn 1, mobile_cn 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "13812345678") || strings.Contains(out, "110101199003074514") {
		t.Errorf("the report repeats raw PII:\n%s", out)
	}
	out, err = runPII("--redact", path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "客户手机138****5678，要求注销学生贷\n身份证110101********4514\n请问怎么提前还款\n"; out != want {
		t.Errorf("redacted = %q, want %q", out, want)
	}
	if _, err := runPII("--fail", path); !errors.Is(err, errFound) {
		t.Errorf("--fail with findings: %v", err)
	}
	if out, err := runPII("--json", "-"); err != nil || !strings.Contains(out, `"masked":"139****1111"`) {
		t.Errorf("stdin as JSON: %v\n%s", err, out)
	}
	if _, err := runPII(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("a missing file is an error")
	}
	if _, err := runPII(); !errors.Is(err, errUsage) {
		t.Errorf("no file: %v", err)
	}
}
