package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebmpipe/ebmpipe/internal/testutil"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/onnx/mlp"
	"github.com/ebmpipe/ebmpipe/train"
)

// The tests in this file run the ebmpipe binary, built once per test run,
// as a new user would: wrong and missing flags, missing files, a directory
// for a file, empty input, models of the wrong kind or shape, bad rows, and
// signals. Every failure must exit non-zero with one line on stderr, match
// testdata/cli.golden (go test -update rewrites it), never panic, and leave
// nothing behind: neither the output nor a temporary file.

// cliBinary is the ebmpipe binary the tests run, built on first use.
var cliBinary struct {
	once sync.Once
	dir  string // temporary directory holding the binary, removed by TestMain
	path string
	err  error
	noGo bool // the go command is missing: skip rather than fail
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if cliBinary.dir != "" {
		os.RemoveAll(cliBinary.dir)
	}
	os.Exit(code)
}

// ebmpipeBinary builds the ebmpipe binary on its first call and returns
// its path. It skips the test when there is no go command to build with.
func ebmpipeBinary(t *testing.T) string {
	t.Helper()
	b := &cliBinary
	b.once.Do(func() {
		goTool, err := goCommand()
		if err != nil {
			b.err, b.noGo = err, true
			return
		}
		if b.dir, b.err = os.MkdirTemp("", "ebmpipe-cli-test-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "ebmpipe")
		if out, err := exec.Command(goTool, "build", "-o", b.path, ".").CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.noGo {
		t.Skipf("cannot build the ebmpipe binary: no go command (%v)", b.err)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// goCommand returns the go command of the toolchain running the test, else
// the one on $PATH.
func goCommand() (string, error) {
	name := "go"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", name); fileExists(p) {
		return p, nil
	}
	return exec.LookPath(name)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// cliRun is how a run of the binary ended.
type cliRun struct {
	code           int
	stdout, stderr string
	maxRSS         int64 // peak resident memory in bytes, 0 if not known
}

// runBinary runs the binary with args in directory dir.
func runBinary(t *testing.T, dir string, args ...string) cliRun {
	t.Helper()
	return runBinaryInput(t, dir, "", args...)
}

// runBinaryInput runs the binary with args in directory dir, with stdin
// on its standard input.
func runBinaryInput(t *testing.T, dir, stdin string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ebmpipeBinary(t), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
	case err != nil:
		t.Fatalf("ebmpipe %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	r := cliRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = int64(ru.Maxrss) << 10 // kilobytes on Linux
	}
	return r
}

// A cliCase is a command line that must fail. In args and files, $DIR
// stands for the directory of the fixtures (see writeCLIFixtures) and $OUT
// for a directory of the case's own, where it runs and writes.
type cliCase struct {
	name string
	args []string
	// files are created in $OUT before the run (see caseDir). The run
	// must leave $OUT holding exactly these.
	files map[string]string
	code  int
}

// cliCases are the error cases, by command, in the order of the golden
// file. More cases of logz, sample, plot, train, bounds and run, and the
// run file errors, are tested in-process beside each command (logz_test.go,
// sample_test.go, plot_test.go, train_test.go, run_test.go); these cases
// add the rest. Scores and logz run on the go engine, whose messages do not depend
// on whether ONNX Runtime is installed.
var cliCases = []cliCase{
	{name: "no-command", code: 2},
	{name: "unknown-command", args: []string{"frobnicate"}, code: 2},
	{name: "help-unknown-command", args: []string{"help", "frobnicate"}, code: 2},

	{name: "inspect/no-argument", args: []string{"inspect"}, code: 2},
	{name: "inspect/two-arguments", args: []string{"inspect", "$DIR/energy.onnx", "$DIR/generator.onnx"}, code: 2},
	{name: "inspect/unknown-flag", args: []string{"inspect", "--json", "$DIR/energy.onnx"}, code: 2},
	{name: "inspect/missing-file", args: []string{"inspect", "$DIR/nope.onnx"}, code: 1},
	{name: "inspect/directory", args: []string{"inspect", "$DIR/dir.onnx"}, code: 1},
	{name: "inspect/empty-file", args: []string{"inspect", "$DIR/empty.onnx"}, code: 1},
	{name: "inspect/not-onnx", args: []string{"inspect", "$DIR/notes.onnx"}, code: 1},
	{name: "inspect/truncated", args: []string{"inspect", "$DIR/truncated.onnx"}, code: 1},

	{name: "score/unknown-flag", args: score("--modle", "$DIR/energy.onnx"), code: 2},
	{name: "score/missing-model-flag", args: []string{"score", "--input", "$DIR/good.csv", "--output", "$OUT/scores.csv"}, code: 2},
	{name: "score/missing-output-flag", args: []string{"score", "--model", "$DIR/energy.onnx", "--input", "$DIR/good.csv"}, code: 2},
	{name: "score/flag-without-value", args: []string{"score", "--model", "$DIR/energy.onnx", "--input", "$DIR/good.csv", "--output"}, code: 2},
	{name: "score/bad-engine", args: score("--engine", "gpu"), code: 2},
	{name: "score/batch-size-zero", args: score("--batch-size", "0"), code: 2},
	{name: "score/batch-size-not-a-number", args: score("--batch-size", "many"), code: 2},
	{name: "score/batch-size-float", args: score("--batch-size", "1e10"), code: 2},
	{name: "score/batch-size-huge", args: score("--batch-size", "10000000000", "--workers", "100000"), code: 2},
	{name: "score/bad-format", args: score("--input", "-", "--format", "xlsx"), code: 2},
	{name: "score/npy-to-stdout", args: score("--output", "-", "--format", "npy"), code: 2},
	{name: "score/rejects-of-stdout", args: score("--output", "-", "--skip-bad-rows"), code: 2},
	{name: "score/extra-argument", args: score("$DIR/good.csv"), code: 2},
	{name: "score/output-is-input", args: []string{"score", "--engine", "go", "--model", "$DIR/energy.onnx", "--input", "$OUT/rows.csv", "--output", "$OUT/rows.csv"},
		files: map[string]string{"rows.csv": "x0,x1\n0.5,1\n"}, code: 2},
	{name: "score/missing-model", args: score("--model", "$DIR/nope.onnx"), code: 1},
	{name: "score/model-directory", args: score("--model", "$DIR/dir.onnx"), code: 1},
	{name: "score/generator-model", args: score("--model", "$DIR/generator.onnx"), code: 1},
	{name: "score/two-input-model", args: score("--model", "$DIR/two-inputs.onnx"), code: 1},
	{name: "score/unsupported-ops", args: score("--model", "$DIR/unsupported.onnx"), code: 1},
	{name: "score/missing-input", args: score("--input", "$DIR/nope.csv"), code: 1},
	{name: "score/input-directory", args: score("--input", "$DIR/dir.csv"), code: 1},
	{name: "score/input-bad-extension", args: score("--input", "$DIR/rows.txt"), code: 1},
	{name: "score/empty-input", args: score("--input", "$DIR/empty.csv"), code: 1},
	{name: "score/blank-input", args: score("--input", "$DIR/blank.csv"), code: 1},
	{name: "score/header-only", args: score("--input", "$OUT/header.csv"), files: map[string]string{"header.csv": "x0,x1\n"}, code: 1},
	{name: "score/feature-count", args: score("--input", "$DIR/wide.csv"), code: 1},
	{name: "score/bad-cell", args: score("--input", "$DIR/bad.csv"), code: 1},
	{name: "score/nan", args: score("--input", "$DIR/nan.csv"), code: 1},
	{name: "score/nan-jsonl", args: score("--input", "$DIR/nan.jsonl"), code: 1},
	{name: "score/ragged-row", args: score("--input", "$DIR/ragged.csv"), code: 1},
	{name: "score/second-header", args: score("--input", "$DIR/concatenated.csv"), code: 1},
	{name: "score/go-number-syntax", args: score("--input", "$OUT/rows.csv"), files: map[string]string{"rows.csv": "x0,x1\n1,2\n1_000,0x1p-2\n"}, code: 1},
	{name: "score/header-wider-than-rows", args: score("--input", "$OUT/rows.csv"), files: map[string]string{"rows.csv": "a,b,c\n1,2\n"}, code: 1},
	{name: "score/beyond-float32", args: score("--input", "$DIR/beyond-float32.csv"), code: 1},
	{name: "score/output-bad-extension", args: score("--output", "$OUT/scores.xlsx"), code: 1},
	{name: "score/output-missing-directory", args: score("--output", "$OUT/missing/scores.csv"), code: 1},
	{name: "score/output-under-a-file", args: score("--output", "$DIR/good.csv/scores.csv"), code: 1},
	{name: "score/output-directory", args: score(), files: map[string]string{"scores.csv/": ""}, code: 1},

	{name: "train/several-bad-flags", args: trainArgs("--lower", "svd", "--upper", "kl", "--steps", "0"), code: 2},
	{name: "train/float-not-a-number", args: trainArgs("--lr-energy", "fast"), code: 2},
	{name: "train/unknown-recipe", args: trainArgs("--upper", "gp", "--recipe", "fast"), code: 2},
	{name: "train/unknown-toy-data", args: trainArgs("--data", "toy:blobs"), code: 1},
	{name: "train/missing-data", args: trainArgs("--data", "$DIR/nope.csv"), code: 1},
	{name: "train/data-directory", args: trainArgs("--data", "$DIR/dir.csv"), code: 1},
	{name: "train/empty-data", args: trainArgs("--data", "$DIR/empty.csv"), code: 1},
	{name: "train/nan", args: trainArgs("--data", "$DIR/nan.csv"), code: 1},
	{name: "train/constant-data", args: trainArgs("--data", "$OUT/same.csv"), files: map[string]string{"same.csv": "a,b\n" + strings.Repeat("0.1,-7\n", 60)}, code: 1},
	{name: "train/float32-overflow", args: trainArgs("--data", "$OUT/big.csv"), files: map[string]string{"big.csv": "a,b\n1,2\n3,1e39\n"}, code: 1},
	{name: "train/oversized-flags", args: trainArgs("--batch-size", "10000000000", "--data-rows", "10000000000", "--bracket-samples", "1000000000"), code: 2},
	{name: "train/oversized-mlp", args: trainArgs("--energy", "mlp:2-1048576-1048576-1"), code: 1},
	{name: "train/bad-mlp-spec", args: trainArgs("--energy", "mlp:2-x-1"), code: 1},
	{name: "train/missing-energy", args: trainArgs("--energy", "$DIR/nope.onnx"), code: 1},
	{name: "train/generator-as-energy", args: trainArgs("--energy", "$DIR/generator.onnx"), code: 1},
	{name: "train/energy-as-generator", args: trainArgs("--generator", "$DIR/energy.onnx"), code: 1},
	{name: "train/two-input-energy", args: trainArgs("--energy", "$DIR/two-inputs.onnx"), code: 1},
	{name: "train/out-is-a-file", args: trainArgs("--out", "$DIR/good.csv"), code: 1},
	{name: "train/out-holds-a-run", args: trainArgs("--out", "$OUT/old"), files: map[string]string{"old/checkpoint/latest": "step-000010.ckpt\n"}, code: 1},
	{name: "train/out-in-use", args: trainArgs(), files: map[string]string{"run/.ebmpipe-train.lock": "1\n"}, code: 1},
	{name: "train/out-holds-models", args: trainArgs("--out", "$OUT/old"), files: map[string]string{"old/energy.onnx": "model", "old/metrics.csv": "step\n"}, code: 1},
	{name: "train/resume-without-checkpoint", args: trainArgs("--resume"), code: 1},
	{name: "train/opset-too-old", args: trainArgs("--opset", "12"), code: 2},
	{name: "train/cannot-export-at-opset", args: trainArgs("--data", "$DIR/four.csv", "--energy", "$DIR/layernorm-o23.onnx", "--generator", "mlp:4-8-4", "--opset", "13"), code: 1},

	{name: "bounds/missing-data-flag", args: []string{"bounds", "--energy", "$DIR/energy.onnx", "--generator", "$DIR/generator.onnx"}, code: 2},
	{name: "bounds/samples-zero", args: boundsArgs("--samples", "0"), code: 2},
	{name: "bounds/samples-huge", args: boundsArgs("--samples", "1000000000000"), code: 2},
	{name: "bounds/energy-directory", args: boundsArgs("--energy", "$DIR/dir.onnx"), code: 1},
	{name: "bounds/models-swapped", args: boundsArgs("--energy", "$DIR/generator.onnx", "--generator", "$DIR/energy.onnx"), code: 1},
	{name: "bounds/two-input-energy", args: boundsArgs("--energy", "$DIR/two-inputs.onnx"), code: 1},
	{name: "bounds/feature-count", args: boundsArgs("--data", "$DIR/wide.csv"), code: 1},
	{name: "bounds/nan", args: boundsArgs("--data", "$DIR/nan.csv"), code: 1},
	{name: "bounds/empty-data", args: boundsArgs("--data", "$DIR/empty.csv"), code: 1},

	{name: "logz/grid-size-huge", args: logzArgs("--grid-size", "1000000000000"), code: 1},
	{name: "logz/model-directory", args: logzArgs("--model", "$DIR/dir.onnx"), code: 1},
	{name: "logz/two-input-model", args: logzArgs("--model", "$DIR/two-inputs.onnx"), code: 1},
	{name: "logz/nan", args: logzArgs("--data", "$DIR/nan.csv"), code: 1},
	{name: "logz/empty-data", args: logzArgs("--data", "$DIR/empty.csv"), code: 1},
	{name: "logz/output-directory", args: logzArgs("--output", "$OUT/energy.onnx"), files: map[string]string{"energy.onnx/": ""}, code: 1},
	{name: "logz/output-under-a-file", args: logzArgs("--output", "$DIR/good.csv/energy.onnx"), code: 1},

	{name: "plot/grid-size-huge", args: plotArgs("--grid-size", "1000000000000"), code: 2},
	{name: "plot/missing-energy", args: plotArgs("--energy", "$DIR/nope.onnx"), code: 1},
	{name: "plot/energy-directory", args: plotArgs("--energy", "$DIR/dir.onnx"), code: 1},
	{name: "plot/generator-as-energy", args: plotArgs("--energy", "$DIR/generator.onnx"), code: 1},
	{name: "plot/energy-as-generator", args: []string{"plot", "--generator", "$DIR/energy.onnx", "--out", "$OUT/pictures"}, code: 1},
	{name: "plot/two-input-energy", args: plotArgs("--energy", "$DIR/two-inputs.onnx"), code: 1},
	{name: "plot/feature-count", args: plotArgs("--data", "$DIR/wide.csv"), code: 1},
	{name: "plot/nan", args: plotArgs("--data", "$DIR/nan.csv"), code: 1},
	{name: "plot/empty-data", args: plotArgs("--data", "$DIR/empty.csv"), code: 1},
	{name: "plot/metrics-not-metrics", args: []string{"plot", "--metrics", "$DIR/good.csv", "--out", "$OUT/pictures"}, code: 1},
	{name: "plot/empty-metrics", args: []string{"plot", "--metrics", "$DIR/empty.csv", "--out", "$OUT/pictures"}, code: 1},
	{name: "plot/out-is-a-file", args: plotArgs("--out", "$DIR/good.csv"), code: 1},
	{name: "plot/run-is-a-file", args: []string{"plot", "--run", "$DIR/good.csv"}, code: 1},
	{name: "plot/run-without-models", args: []string{"plot", "--run", "$OUT/run"}, files: map[string]string{"run/": ""}, code: 1},

	{name: "sample/n-not-a-number", args: sampleArgs("-n", "ten"), code: 2},
	{name: "sample/n-huge", args: sampleArgs("-n", "9999999999999999"), code: 2},
	{name: "sample/generator-directory", args: sampleArgs("--generator", "$DIR/dir.onnx"), code: 1},
	{name: "sample/two-input-generator", args: sampleArgs("--generator", "$DIR/two-inputs-generator.onnx"), code: 1},
	{name: "sample/output-directory", args: sampleArgs(), files: map[string]string{"samples.csv/": ""}, code: 1},
	{name: "sample/output-under-a-file", args: sampleArgs("--output", "$DIR/good.csv/samples.csv"), code: 1},

	{name: "run/csv-as-run-file", args: []string{"run", "$DIR/good.csv"}, code: 2},
	{name: "run/empty-run-file", args: []string{"run", "$OUT/empty.yaml"}, files: map[string]string{"empty.yaml": ""}, code: 2},
	{name: "run/nan", args: []string{"run", "$OUT/run.yaml"}, files: map[string]string{"run.yaml": "train:\n  data: $DIR/nan.csv\n  steps: 2\n  out: run\n"}, code: 1},

	{name: "demo/out-holds-a-run", args: []string{"demo", "--steps", "2", "--out", "$OUT/old"}, files: map[string]string{"old/checkpoint/latest": "step-000010.ckpt\n"}, code: 1},
}

// score returns a score command line on the fixtures, with args replacing
// or adding flags.
func score(args ...string) []string {
	return withFlags([]string{"score", "--engine", "go", "--model", "$DIR/energy.onnx", "--input", "$DIR/good.csv", "--output", "$OUT/scores.csv"}, args)
}

// trainArgs returns a short train command line into $OUT/run, with args
// replacing or adding flags.
func trainArgs(args ...string) []string {
	return withFlags([]string{"train", "--data", "toy:25gaussians", "--data-rows", "200", "--energy", "mlp:2-8-1",
		"--generator", "mlp:2-8-2", "--batch-size", "16", "--steps", "3", "--out", "$OUT/run"}, args)
}

func plotArgs(args ...string) []string {
	return withFlags([]string{"plot", "--energy", "$DIR/energy.onnx", "--data", "$DIR/good.csv", "--grid-size", "8", "--out", "$OUT/pictures"}, args)
}

func sampleArgs(args ...string) []string {
	return withFlags([]string{"sample", "--engine", "go", "--generator", "$DIR/generator.onnx", "-n", "10", "--output", "$OUT/samples.csv"}, args)
}

func boundsArgs(args ...string) []string {
	return withFlags([]string{"bounds", "--energy", "$DIR/energy.onnx", "--generator", "$DIR/generator.onnx",
		"--data", "$DIR/good.csv", "--samples", "50"}, args)
}

func logzArgs(args ...string) []string {
	return withFlags([]string{"logz", "--engine", "go", "--model", "$DIR/energy.onnx", "--data", "$DIR/good.csv",
		"--grid-size", "16", "--output", "$OUT/logz.onnx"}, args)
}

// withFlags returns base with each "--flag value" pair of args replacing
// that flag's value in base, or appended if base has no such flag; other
// arguments are appended.
func withFlags(base, args []string) []string {
	out := append([]string(nil), base...)
	for i := 0; i < len(args); i++ {
		a := args[i]
		j := -1
		if strings.HasPrefix(a, "-") {
			for k := 1; k < len(out)-1; k++ {
				if out[k] == a {
					j = k
				}
			}
		}
		switch {
		case j >= 0 && i+1 < len(args):
			out[j+1] = args[i+1]
			i++
		default:
			out = append(out, a)
		}
	}
	return out
}

// writeCLIFixtures writes the models and row files the cases use into dir.
func writeCLIFixtures(t *testing.T, dir string) {
	t.Helper()
	save := func(name string, m *onnx.ModelProto) {
		if err := onnx.Save(filepath.Join(dir, name), m); err != nil {
			t.Fatal(err)
		}
	}
	mlp := func(spec, kind string) *onnx.ModelProto {
		m, err := mlp.New(spec, mlp.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = export.Model(m, nil, export.Meta{Kind: kind}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	energy := mlp("mlp:2-8-1:tanh", export.KindEnergy)
	save("energy.onnx", energy)
	save("generator.onnx", mlp("mlp:2-8-2:tanh", export.KindGenerator))
	save("two-inputs.onnx", twoInputModel(export.KindEnergy, 1))
	save("two-inputs-generator.onnx", twoInputModel(export.KindGenerator, 2))
	save("unsupported.onnx", unsupportedOpsModel())
	raw, err := onnx.Encode(energy)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"truncated.onnx":     string(raw[:len(raw)/2]),
		"notes.onnx":         "this is not a model\n",
		"empty.onnx":         "",
		"good.csv":           "x0,x1\n0.5,1\n-1,2\n",
		"rows.txt":           "0.5,1\n-1,2\n",
		"empty.csv":          "",
		"blank.csv":          "\n\n",
		"wide.csv":           "1,2,3\n4,5,6\n",
		"bad.csv":            "x0,x1\n1,2\n3,abc\n",
		"nan.csv":            "x0,x1\n1,2\n3,NaN\n",
		"nan.jsonl":          "[1, 2]\n[NaN, 3]\n",
		"ragged.csv":         "x0,x1\n1,2\n3\n",
		"concatenated.csv":   "x0,x1\n1,2\n3,4\nx0,x1\n5,6\n",
		"beyond-float32.csv": "x0,x1\n1,2\n1e39,0\n",
		"four.csv":           "a,b,c,d\n1,2,3,4\n0,1,0,2\n3,1,2,0\n1,1,0,0\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	layernorm, err := os.ReadFile("../../testdata/opset/energy_layernorm_o23.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "layernorm-o23.onnx"), layernorm, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dir.onnx", "dir.csv"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// twoInputModel is a model of the kind given with two inputs of 2 values,
// f(x, y) = (x + y)·W, giving rows of out values.
func twoInputModel(kind string, out int) *onnx.ModelProto {
	batch := onnx.Dim{Param: "batch"}
	return &onnx.ModelProto{
		IrVersion:     proto.Int64(8),
		OpsetImport:   []*onnx.OperatorSetIdProto{{Version: proto.Int64(17)}},
		MetadataProps: []*onnx.StringStringEntryProto{{Key: proto.String(export.MetaKind), Value: proto.String(kind)}},
		Graph: &onnx.GraphProto{
			Name: proto.String("two_inputs"),
			Input: []*onnx.ValueInfoProto{
				onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2}),
				onnx.NewValueInfo("y", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2}),
			},
			Output:      []*onnx.ValueInfoProto{onnx.NewValueInfo("f", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: int64(out)})},
			Initializer: []*onnx.TensorProto{onnx.NewTensorFloat32("w", []int{2, out}, make([]float32, 2*out))},
			Node: []*onnx.NodeProto{
				{Name: proto.String("sum"), OpType: proto.String("Add"), Input: []string{"x", "y"}, Output: []string{"s"}},
				{Name: proto.String("project"), OpType: proto.String("MatMul"), Input: []string{"s", "w"}, Output: []string{"f"}},
			},
		},
	}
}

// unsupportedOpsModel is a valid model of two ops ebmpipe cannot import.
func unsupportedOpsModel() *onnx.ModelProto {
	batch := onnx.Dim{Param: "batch"}
	return &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnx.GraphProto{
			Name:   proto.String("g"),
			Input:  []*onnx.ValueInfoProto{onnx.NewValueInfo("x", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2})},
			Output: []*onnx.ValueInfoProto{onnx.NewValueInfo("y", onnx.TensorProto_FLOAT, batch, onnx.Dim{Value: 2})},
			Node: []*onnx.NodeProto{
				{Name: proto.String("fft"), OpType: proto.String("DFT"), Input: []string{"x"}, Output: []string{"f"}},
				{Name: proto.String("ifft"), OpType: proto.String("DFT"), Input: []string{"f"}, Output: []string{"y"}},
			},
		},
	}
}

// tempName matches the random part of the temporary files' names
// (.NAME.PID-123.tmp, .NAME.123.tmp, .NAME.tmp-123).
var tempName = regexp.MustCompile(`\.\d+(-\d+)?\.tmp\b|\.tmp-\d+\b`)

// normalise replaces the case's directories in s by $OUT and $DIR, and the
// random part of temporary file names by *.
func normalise(s, dir, out string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, out, "$OUT"), dir, "$DIR")
	return tempName.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, ".tmp-") {
			return ".tmp-*"
		}
		return ".*.tmp"
	})
}

// TestCLI runs every case of cliCases, the signal cases and a run whose
// training and test files differ in having a header, and compares what
// they print on stderr with testdata/cli.golden: a section "## NAME" per
// case, the command line after "$ ", then stderr.
func TestCLI(t *testing.T) {
	ebmpipeBinary(t)
	dir := t.TempDir()
	writeCLIFixtures(t, dir)
	before := snapshot(t, dir, "out")

	var mu sync.Mutex
	sections := make(map[string]string)
	record := func(name, text string) {
		mu.Lock()
		defer mu.Unlock()
		sections[name] = text
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cliCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				record(c.name, runErrorCase(t, dir, c))
			})
		}
		t.Run("score-sigint", func(t *testing.T) {
			t.Parallel()
			record("score-sigint", runScoreInterrupt(t, dir))
		})
		t.Run("train-sigint", func(t *testing.T) {
			t.Parallel()
			record("train-sigint", runTrainInterrupt(t, dir))
		})
		t.Run("run-mixed-headers", func(t *testing.T) {
			t.Parallel()
			runMixedHeaders(t, dir)
		})
	})
	if after := snapshot(t, dir, "out"); after != before {
		t.Errorf("the fixtures changed:\n--- before\n%s--- after\n%s", before, after)
	}

	names := make([]string, 0, len(cliCases)+2)
	for _, c := range cliCases {
		names = append(names, c.name)
	}
	names = append(names, "score-sigint", "train-sigint")
	checkSections(t, "testdata/cli.golden", names, sections)
}

// checkSections compares the sections of the cases names, "## NAME" and
// the text, with the golden file path, unless a case did not run.
func checkSections(t *testing.T, path string, names []string, sections map[string]string) {
	t.Helper()
	var golden strings.Builder
	for _, name := range names {
		text, ok := sections[name]
		if !ok {
			t.Logf("not comparing with %s: case %s did not run", path, name)
			return
		}
		golden.WriteString("## " + name + "\n" + text)
	}
	checkGolden(t, path, golden.String())
}

// caseDir makes the directory of the case name under dir/out, holding
// files, and returns it. In files, a name ending in "/" is a directory,
// and a text "-> PATH" makes a symbolic link to PATH, "< PATH" a copy of
// the file PATH, any other a file holding the text; $OUT and $DIR in the
// texts stand for the case's directory and dir.
func caseDir(t *testing.T, dir, name string, files map[string]string) string {
	t.Helper()
	out := filepath.Join(dir, "out", strings.ReplaceAll(name, "/", "-"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("$OUT", out, "$DIR", dir)
	for name, text := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		text = expand.Replace(text)
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(text, "-> "):
			err = os.Symlink(text[3:], p)
		case strings.HasPrefix(text, "< "):
			var b []byte
			if b, err = os.ReadFile(text[2:]); err == nil {
				err = os.WriteFile(p, b, 0o644)
			}
		default:
			err = os.WriteFile(p, []byte(text), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// runErrorCase runs c, checks that it fails as it should, and returns its
// golden section: the command line and its stderr.
func runErrorCase(t *testing.T, dir string, c cliCase) string {
	out := caseDir(t, dir, c.name, c.files)
	before := snapshot(t, out, "")
	r := runBinary(t, out, expandAll(c.args, dir, out)...)

	if r.code != c.code {
		t.Errorf("exit %d, want %d; stderr:\n%s", r.code, c.code, r.stderr)
	}
	checkNoPanic(t, r)
	if len(c.args) == 0 {
		// No command: the usage, on stdout.
		if !strings.Contains(r.stdout, "Usage: ebmpipe COMMAND") || r.stderr != "" {
			t.Errorf("stdout:\n%s\nstderr:\n%s\nwant the usage on stdout only", r.stdout, r.stderr)
		}
	} else {
		checkErrorLine(t, c.args[0], r)
	}
	if after := snapshot(t, out, ""); after != before {
		t.Errorf("the output directory changed:\n--- before\n%s--- after\n%s", before, after)
	}
	return commandLine(c.args) + normalise(r.stderr, dir, out)
}

// commandLine returns the golden line showing the command line args.
func commandLine(args []string) string {
	return strings.Join(append([]string{"$ ebmpipe"}, args...), " ") + "\n"
}

// checkNoPanic fails t if the run panicked or crashed.
func checkNoPanic(t *testing.T, r cliRun) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr} {
		for _, bad := range []string{"panic:", "goroutine ", "runtime error", "SIGSEGV"} {
			if strings.Contains(s, bad) {
				t.Errorf("output holds %q:\n%s", bad, s)
			}
		}
	}
}

// checkErrorLine fails t unless r printed nothing on stdout and exactly
// one line on stderr, "ebmpipe CMD: message" (or "ebmpipe: message" for an
// unknown command). run and demo may first name their steps, on lines
// starting "== ".
func checkErrorLine(t *testing.T, cmd string, r cliRun) {
	t.Helper()
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	prefix := "ebmpipe " + cmd + ": "
	if !commandExists(cmd) {
		prefix = "ebmpipe: "
	}
	msg := r.stderr
	if cmd == "run" || cmd == "demo" {
		for strings.HasPrefix(msg, "== ") && strings.Contains(msg, "\n") {
			msg = msg[strings.Index(msg, "\n")+1:]
		}
	}
	if !strings.HasSuffix(msg, "\n") || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, prefix) {
		t.Errorf("stderr %q, want one line %q...", r.stderr, prefix)
	}
}

func commandExists(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return false
}

// snapshot lists the files under dir, except under dir/skip, with a digest
// of each, so that two snapshots differ if a file was added, removed or
// changed. Directories are left out: a failed command may leave an empty
// one.
func snapshot(t *testing.T, dir, skip string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir() && rel == skip:
			return filepath.SkipDir
		case d.IsDir():
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %x\n", rel, sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runScoreInterrupt starts score on an input large enough to take seconds,
// stops it with SIGINT once it is writing, and checks that it exits with
// status 1 and leaves neither the output nor its temporary file. It
// returns the golden section.
func runScoreInterrupt(t *testing.T, dir string) string {
	out := filepath.Join(dir, "out", "score-sigint")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(out, "big.npy")
	writeNPY(t, in, 2_000_000, 2)
	args := []string{"score", "--engine", "go", "--batch-size", "256", "--model", "$DIR/energy.onnx", "--input", "$OUT/big.npy", "--output", "$OUT/scores.csv"}
	r := interrupt(t, dir, out, args, func() bool {
		m, _ := filepath.Glob(filepath.Join(out, ".scores.csv.*.tmp"))
		return len(m) > 0
	})
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	checkNoPanic(t, r)
	checkErrorLine(t, "score", r)
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != "big.npy" {
			t.Errorf("left %s behind", e.Name())
		}
	}
	msg := regexp.MustCompile(`stopped after \d+ rows`).ReplaceAllString(r.stderr, "stopped after N rows")
	return commandLine(args) + normalise(msg, dir, out)
}

// runTrainInterrupt starts a long training run, stops it with SIGINT once
// it has written metrics, and checks that it wrote a checkpoint of the
// iterations done and no models, and that --resume continues from there.
// It returns the golden section.
func runTrainInterrupt(t *testing.T, dir string) string {
	out := filepath.Join(dir, "out", "train-sigint")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(out, "run")
	// Only the interruption writes a checkpoint: --checkpoint-every 0.
	args := trainArgs("--steps", "1000000", "--log-every", "2", "--checkpoint-every", "0")
	r := interrupt(t, dir, out, args, func() bool {
		b, _ := os.ReadFile(filepath.Join(run, train.MetricsFile))
		return bytes.Count(b, []byte("\n")) >= 2 // a header and a row
	})
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	checkNoPanic(t, r)
	checkErrorLine(t, "train", r)
	m := regexp.MustCompile(`stopped after (\d+) of`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("stderr %q does not say how many iterations were done", r.stderr)
	}
	steps, _ := strconv.Atoi(m[1])
	ck, err := train.LoadCheckpoint(filepath.Join(run, train.CheckpointDir))
	if err != nil {
		t.Fatalf("no checkpoint after SIGINT: %v", err)
	}
	if ck.Step != steps {
		t.Errorf("checkpoint of iteration %d, but stderr says %d were done", ck.Step, steps)
	}
	for _, f := range []string{train.EnergyFile, train.GeneratorFile} {
		if fileExists(filepath.Join(run, f)) {
			t.Errorf("an interrupted run wrote %s", f)
		}
	}
	checkNoTemp(t, run)

	// Resume with the same flags for 3 more iterations.
	resumed := runBinary(t, out, expandAll(withFlags(args, []string{"--steps", strconv.Itoa(steps + 3), "--resume"}), dir, out)...)
	if resumed.code != 0 {
		t.Fatalf("resume: exit %d: %s", resumed.code, resumed.stderr)
	}
	if want := fmt.Sprintf("trained %d iterations", steps+3); !strings.Contains(resumed.stderr, want) {
		t.Errorf("resume: stderr %q, want %q", resumed.stderr, want)
	}
	for _, f := range []string{train.EnergyFile, train.GeneratorFile} {
		if !fileExists(filepath.Join(run, f)) {
			t.Errorf("the resumed run did not write %s", f)
		}
	}
	checkNoTemp(t, run)
	msg := regexp.MustCompile(`stopped after \d+ of`).ReplaceAllString(r.stderr, "stopped after N of")
	return commandLine(args) + normalise(msg, dir, out)
}

// interrupt starts the binary with args (in which $DIR and $OUT stand for
// dir and out), sends it SIGINT once ready returns true, and returns how
// it ended.
func interrupt(t *testing.T, dir, out string, args []string, ready func() bool) cliRun {
	t.Helper()
	cmd := exec.Command(ebmpipeBinary(t), expandAll(args, dir, out)...)
	cmd.Dir = out
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for deadline := time.Now().Add(2 * time.Minute); !ready(); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("ended before it was interrupted (%v); stderr:\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("not ready after 2 minutes; stderr:\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 2 minutes after SIGINT; stderr:\n%s", stderr.String())
	}
	return cliRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func expandAll(args []string, dir, out string) []string {
	expand := strings.NewReplacer("$OUT", out, "$DIR", dir)
	res := make([]string, len(args))
	for i, a := range args {
		res[i] = expand.Replace(a)
	}
	return res
}

// checkNoTemp fails t if a temporary file is left under dir.
func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", path)
		}
		return nil
	})
}

// runMixedHeaders runs a whole pipeline whose training file has a header
// and whose test file has none: each file's header is its own business.
func runMixedHeaders(t *testing.T, dir string) {
	out := filepath.Join(dir, "out", "run-mixed-headers")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var trainRows, testRows strings.Builder
	trainRows.WriteString("a,b\n")
	for i := range 200 {
		fmt.Fprintf(&trainRows, "%g,%g\n", float64(i%20)/10-1, float64(i%7)/3-1)
	}
	for i := range 30 {
		fmt.Fprintf(&testRows, "%g,%g\n", float64(i%10)/5-1, float64(i%6)/3-1)
	}
	files := map[string]string{
		"train.csv": trainRows.String(),
		"test.csv":  testRows.String(),
		"run.yaml": `train:
  data: train.csv
  energy: mlp:2-8-1
  generator: mlp:2-8-2
  batch-size: 16
  steps: 2
  out: run
logz:
  engine: go
  grid-size: 16
bounds:
  samples: 50
score:
  engine: go
run:
  test: test.csv
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runBinary(t, out, "run", filepath.Join(out, "run.yaml"))
	checkNoPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	got, width := testutil.ReadRowsWidth(t, filepath.Join(out, "run", "test_scores.csv"))
	if width == 0 || len(got)/width != 30 {
		t.Errorf("test_scores.csv holds %d values of width %d, want 30 rows", len(got), width)
	}
	checkNoTemp(t, out)
}
