package beamscore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/internal/testutil"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/score"
)

// fixtureModel is a 2-32-32-1 SiLU MLP energy exported from PyTorch.
const fixtureModel = "../../testdata/torch/energy_silu.onnx"

func TestMain(m *testing.M) {
	Init(nil)
	os.Exit(m.Run())
}

// modelWithLogZ writes the fixture with ebmpipe.log_z = logZ into dir.
func modelWithLogZ(t testing.TB, dir string, logZ float64) string {
	t.Helper()
	m, err := onnx.Load(fixtureModel)
	if err != nil {
		t.Fatal(err)
	}
	m.MetadataProps = append(m.MetadataProps,
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaKind), Value: proto.String("energy")},
		&onnx.StringStringEntryProto{Key: proto.String(export.MetaLogZ), Value: proto.String(strconv.FormatFloat(logZ, 'g', -1, 64))})
	path := filepath.Join(dir, "energy.onnx")
	if err := onnx.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// inputFile is a generated input file: its text, and its good rows.
type inputFile struct {
	name string
	text strings.Builder
	rows [][2]float64
	bad  []string // "line\ttext" of each bad row, in order
	line int      // lines written
}

func (f *inputFile) add(line string) { f.text.WriteString(line + "\n"); f.line++ }

func (f *inputFile) addBad(line string) {
	f.add(line)
	f.bad = append(f.bad, strconv.Itoa(f.line)+"\t"+line)
}

// genInputs writes the test's input files into dir: CSV with and without
// a header (the second with bad rows), JSONL arrays and objects.
func genInputs(t testing.TB, dir string, rowsPerFile int) []*inputFile {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	num := func() string { return strconv.FormatFloat(rng.NormFloat64()*2, 'g', -1, 64) }
	files := []*inputFile{{name: "a.csv"}, {name: "b.csv"}, {name: "c.jsonl"}, {name: "d.jsonl"}}
	files[0].add("x0,x1")
	for i, f := range files {
		for r := range rowsPerFile {
			if i == 1 && r%2500 == 100 {
				f.addBad(num() + ",abc")
				f.addBad(num())
			}
			x, y := num(), num()
			switch i {
			case 0, 1:
				f.add(x + "," + y)
			case 2:
				f.add("[" + x + ", " + y + "]")
			case 3:
				f.add(`{"y": ` + y + `, "x": ` + x + `}`)
			}
			a, _ := strconv.ParseFloat(x, 64)
			b, _ := strconv.ParseFloat(y, 64)
			if i == 3 { // object keys name the columns in first-seen order
				a, b = b, a
			}
			f.rows = append(f.rows, [2]float64{a, b})
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// streamingScores scores the good rows of files, concatenated, with the
// streaming scorer, and returns the CSV lines of the scores of each file.
func streamingScores(t testing.TB, dir, model, engine string, files []*inputFile) [][]string {
	t.Helper()
	var all strings.Builder
	for _, f := range files {
		for _, r := range f.rows {
			fmt.Fprintf(&all, "%s,%s\n", strconv.FormatFloat(r[0], 'g', -1, 64), strconv.FormatFloat(r[1], 'g', -1, 64))
		}
	}
	dir = filepath.Join(dir, "ref")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "all.rows.csv")
	if err := os.WriteFile(in, []byte(all.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "all.scores.csv")
	if _, err := score.Score(context.Background(), score.Options{Model: model, Input: in, Output: out, Engine: engine, BatchSize: 512, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, out)
	if lines[0] != "energy,log_density" {
		t.Fatalf("streaming scorer header %q", lines[0])
	}
	lines = lines[1:]
	var per [][]string
	for _, f := range files {
		per = append(per, lines[:len(f.rows)])
		lines = lines[len(f.rows):]
	}
	return per
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestRunMatchesScore runs the pipeline on prism, in this process, with
// both engines, and checks its shards against the streaming scorer on the
// same rows: equal as a multiset, and shard by shard in input order; the
// rejects file lists every bad row; log Z gives log_density.
func TestRunMatchesScore(t *testing.T) {
	for _, eng := range []string{engine.Go, engine.ORT} {
		t.Run(eng, func(t *testing.T) {
			if eng == engine.ORT {
				testutil.NeedORT(t)
			}
			dir := t.TempDir()
			const logZ = 1.75
			model := modelWithLogZ(t, dir, logZ)
			files := genInputs(t, dir, 7000)
			want := streamingScores(t, dir, model, eng, files)

			o := DefaultOptions()
			o.Model, o.Engine, o.BatchSize, o.SkipBadRows = model, eng, 300, true
			o.Inputs = []string{filepath.Join(dir, "*.csv"), filepath.Join(dir, "?.jsonl")}
			o.Output = filepath.Join(dir, "out", "scores")
			st, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			checkRun(t, dir, o, st, files, want, logZ)
		})
	}
}

// checkRun checks the outputs and stats of a run of TestRunMatchesScore.
func checkRun(t *testing.T, dir string, o Options, st Stats, files []*inputFile, want [][]string, logZ float64) {
	t.Helper()
	var inputs []string
	wantRows, wantBad := 0, 0
	var wantRejects []string
	for _, f := range files {
		inputs = append(inputs, filepath.Join(dir, f.name))
		wantRows += len(f.rows)
		wantBad += len(f.bad)
		for _, b := range f.bad {
			wantRejects = append(wantRejects, filepath.Join(dir, f.name)+"\t"+b+"\t"+filepath.Join(dir, f.name)+":"+strings.SplitN(b, "\t", 2)[0]+": ")
		}
	}
	if !slices.Equal(st.Inputs, inputs) {
		t.Errorf("inputs %q, want %q", st.Inputs, inputs)
	}
	if st.Rows != int64(wantRows) || st.Rejected != int64(wantBad) {
		t.Errorf("counters: %d rows, %d rejected; want %d, %d", st.Rows, st.Rejected, wantRows, wantBad)
	}
	var got, all []string
	for i, shard := range st.Shards {
		if w := fmt.Sprintf("%s-%05d-of-%05d.csv", o.Output, i, len(files)); shard != w {
			t.Errorf("shard %d is %s, want %s", i, shard, w)
		}
		lines := readLines(t, shard)
		if lines[0] != "energy,log_density" {
			t.Errorf("%s: header %q", shard, lines[0])
		}
		if !slices.Equal(lines[1:], want[i]) {
			t.Errorf("%s: %d rows differ from the streaming scorer's %d on %s", shard, len(lines)-1, len(want[i]), files[i].name)
		}
		got = append(got, lines[1:]...)
		all = append(all, want[i]...)
		for _, l := range lines[1:3] {
			var e, ld float64
			if _, err := fmt.Sscanf(strings.Replace(l, ",", " ", 1), "%g %g", &e, &ld); err != nil || ld != -e-logZ {
				t.Errorf("%s: line %q: log_density is not -energy - %g", shard, l, logZ)
			}
		}
	}
	if len(st.Shards) != len(files) {
		t.Fatalf("%d shards, want %d", len(st.Shards), len(files))
	}
	slices.Sort(got)
	slices.Sort(all)
	if !slices.Equal(got, all) {
		t.Errorf("the shards' rows differ, as a multiset, from the streaming scorer's")
	}
	rejects := readLines(t, o.Output+".rejects")
	if len(rejects) != len(wantRejects) {
		t.Fatalf("%d rejects, want %d:\n%s", len(rejects), len(wantRejects), strings.Join(rejects, "\n"))
	}
	for i, r := range rejects {
		if !strings.HasPrefix(r, wantRejects[i]) {
			t.Errorf("reject %d: %q, want it to start with %q", i, r, wantRejects[i])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", "*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestRunBadRowFails checks that without SkipBadRows a run with bad rows
// fails with the streaming scorer's error for the first one, and leaves
// no output behind.
func TestRunBadRowFails(t *testing.T) {
	dir := t.TempDir()
	files := genInputs(t, dir, 3000)
	_, want := score.Score(context.Background(), score.Options{
		Model: fixtureModel, Input: filepath.Join(dir, files[1].name), Output: filepath.Join(dir, "ref.csv"),
		Engine: engine.Go, BatchSize: 64,
	})
	if want == nil {
		t.Fatal("the streaming scorer took the bad rows")
	}
	o := DefaultOptions()
	o.Model, o.Engine, o.Inputs = fixtureModel, engine.Go, []string{filepath.Join(dir, "*.*")}
	o.Output = filepath.Join(dir, "out", "scores")
	_, err := Run(context.Background(), o)
	if err == nil || err.Error() != want.Error() {
		t.Errorf("error %v, want %v", err, want)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", "*")); len(left) > 0 {
		t.Errorf("files left: %q", left)
	}
}

// TestRunErrors checks the errors of runs that cannot start or that fail
// on a whole file, and that they leave no output behind.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "x0,x1\n0.5,1\n-1,2\n")
	wide := write("wide.csv", "1,2,3\n4,5,6\n")
	cases := []struct {
		name   string
		change func(*Options)
		want   string // the error, or its start if it ends in a space
	}{
		{"no-match", func(o *Options) { o.Inputs = []string{filepath.Join(dir, "*.npy")} },
			"input $TMP/*.npy: no file matches"},
		{"check", func(o *Options) { o.Runner, o.BatchSize, o.Output = "spark", 0, "" },
			`runner "spark": want prism, universal or dataflow; output: no output prefix given; BatchSize 0: must be at least 1`},
		{"no-model", func(o *Options) { o.Model = filepath.Join(dir, "none.onnx") },
			"$TMP/none.onnx: "},
		{"wrong-width", func(o *Options) { o.Inputs = []string{good, wide} },
			"$TMP/wide.csv: rows of 3 values (shape [3]), but " + fixtureModel + " wants 2 (shape [2])"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Model, o.Engine, o.Inputs = fixtureModel, engine.Go, []string{good}
			o.Output = filepath.Join(dir, "out", "scores")
			c.change(&o)
			_, err := Run(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), "\n", "; "), dir, "$TMP")
			t.Log(msg)
			if strings.HasSuffix(c.want, " ") {
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("error\n%s\nwant it to start with\n%s", msg, c.want)
				}
			} else if msg != c.want {
				t.Errorf("error\n%s\nwant\n%s", msg, c.want)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "out", "*")); len(left) > 0 {
				t.Errorf("files left: %q", left)
			}
		})
	}
}
