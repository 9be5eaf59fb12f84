package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScoreRunnerPrism runs `ebmpipe score --runner prism` as a user
// would, through the built binary (main calls beamscore.Init), on a glob
// of two files, one with a bad row, and checks its shards, rejects and
// message against the streaming scorer on each file.
func TestScoreRunnerPrism(t *testing.T) {
	bin := ebmpipeBinary(t)
	dir := t.TempDir()
	files := map[string]string{
		"a.csv":   "x0,x1\n0.5,1\n-1,2\n",
		"b.jsonl": "[0.1, 0.2]\n[1, \"x\"]\n[3, 4]\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join(fixtures, "energy_silu.onnx")
	cmd := exec.Command(bin, "score", "--runner", "prism", "--engine", "go", "--model", model,
		"--input", filepath.Join(dir, "*.csv")+","+filepath.Join(dir, "*.jsonl"),
		"--output", filepath.Join(dir, "out", "s"), "--skip-bad-rows")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	if want := "scored 4 rows of 2 files into 2 shards " + filepath.Join(dir, "out", "s") + "-*-of-00002.csv (beam prism runner, go engine); 1 bad rows in " + filepath.Join(dir, "out", "s.rejects") + "\n"; string(msg) != want {
		t.Errorf("stderr %q, want %q", msg, want)
	}
	for i, name := range []string{"a.csv", "b.jsonl"} {
		ref := filepath.Join(dir, "ref"+name+".csv")
		if out, err := exec.Command(bin, "score", "--engine", "go", "--model", model, "--skip-bad-rows",
			"--input", filepath.Join(dir, name), "--output", ref).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want, _ := os.ReadFile(ref)
		got, err := os.ReadFile(filepath.Join(dir, "out", "s-0000"+string(rune('0'+i))+"-of-00002.csv"))
		if err != nil || string(got) != string(want) {
			t.Errorf("shard %d:\n%s\nwant the streaming scorer's\n%s", i, got, want)
		}
	}
	rejects, _ := os.ReadFile(filepath.Join(dir, "out", "s.rejects"))
	if !strings.HasPrefix(string(rejects), filepath.Join(dir, "b.jsonl")+"\t2\t[1, \"x\"]\t") {
		t.Errorf("rejects:\n%s", rejects)
	}
}

// TestScoreBeamFlags checks the usage errors of the Beam flags.
func TestScoreBeamFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--environment_type", "LOOPBACK"}, "ebmpipe score: --environment_type is a Beam pipeline option: give --runner\n"},
		{[]string{"--endpoint", "localhost:8099"}, "ebmpipe score: --endpoint is a Beam pipeline option: give --runner\n"},
		{[]string{"--runner", "prism", "--workers", "2"}, "ebmpipe score: --workers applies to the streaming scorer, not to --runner prism\n"},
		{[]string{"--runner", "universal"}, "ebmpipe score: --runner universal needs --endpoint HOST:PORT of a job server\n"},
		{[]string{"--runner", "flink"}, "ebmpipe score: runner \"flink\": want prism, universal or dataflow\n"},
	}
	for _, c := range cases {
		args := append([]string{"score", "--model", "m.onnx", "--input", "x.csv", "--output", "o"}, c.args...)
		code, _, errw := runCLI(args...)
		if code != 2 || errw != c.want {
			t.Errorf("%q: exit %d, stderr %q; want 2, %q", c.args, code, errw, c.want)
		}
	}
}
