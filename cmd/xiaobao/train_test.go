package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/model"
)

// TestTrainCommand trains on a tiny history end to end, serves the model
// with `serve --model` and reads it back; a bad model file stops serve at
// start with the file and the field named.
func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"xiaobao", "train", "--customers", "3000", "--days", "30", "--seed", "7",
		"--scam-rate", "10", "--rounds", "20", "--name", "tiny", "--out", out}, os.Getenv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"rules alone", "model (gbdt)", "test (events with an amount)", "written to " + out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("train output lacks %q:\n%s", want, stdout.String())
		}
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "tiny" || m.Calibration == nil || m.Training.Metrics["auc"] < 0.8 {
		t.Errorf("model %q calibration %v metrics %v", m.Name, m.Calibration, m.Training.Metrics)
	}

	// eval compares the rules alone with rules + model on one history.
	stdout.Reset()
	err = run(context.Background(), []string{"xiaobao", "eval", "--customers", "1500", "--days", "20", "--seed", "8",
		"--scam-rate", "10", "--compare-model", out}, os.Getenv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("eval --compare-model: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "+ model.json") {
		t.Errorf("eval output does not name the model's run:\n%s", stdout.String())
	}
	if err := run(context.Background(), []string{"xiaobao", "eval", "--customers", "100", "--days", "2", "--model", filepath.Join(dir, "missing.json")},
		os.Getenv, strings.NewReader(""), &stdout, &stderr); err == nil {
		t.Error("eval with a missing model file succeeded")
	}

	in := startServe(t, filepath.Join(dir, "data"), "--model", out)
	var info struct {
		Name     string
		Features []string
	}
	if resp := call(t, "GET", in.base+"/v1/model", "", &info); resp.StatusCode != 200 || info.Name != "tiny" || len(info.Features) != len(m.Features) {
		t.Errorf("GET /v1/model: %d %+v", resp.StatusCode, info)
	}
	var d struct {
		Explanation struct {
			Model         string
			Contributions []struct{ Feature string }
		}
	}
	call(t, "POST", in.base+"/v1/events", testEvent("model", 1), &d)
	if d.Explanation.Model != "tiny" || len(d.Explanation.Contributions) == 0 {
		t.Errorf("decision explanation: %+v", d.Explanation)
	}
	in.stop()

	// A model naming a feature Guard does not compute.
	bad := filepath.Join(dir, "bad.json")
	b, _ := os.ReadFile(out)
	if err := os.WriteFile(bad, bytes.Replace(b, []byte(`"payee.in_count_24h"`), []byte(`"payee.in_count_25h"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"xiaobao", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data2"), "--model", bad},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "load model "+bad) || !strings.Contains(err.Error(), "payee.in_count_25h") {
		t.Errorf("serve with a bad model: %v", err)
	}
	err = run(context.Background(), []string{"xiaobao", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data3"), "--model", filepath.Join(dir, "none.json")},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("serve with a missing model: %v", err)
	}
}
