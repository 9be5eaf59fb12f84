package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// selectedMeta reads the selection record of an exported model.
func selectedMeta(t *testing.T, path string) map[string]string {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := export.ReadMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	return meta.Extra
}

// sameFile reports whether two files hold the same bytes.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// TestSelectBestSpike trains with Select best and the default score (the
// certified iw lower bound on the validation NLL), turning the learning
// rates negative after iteration 40 (gradient ascent, to make the models
// worse on purpose): the exported models are those of an earlier
// iteration, recorded in their metadata, and differ from those of the
// last iteration.
func TestSelectBestSpike(t *testing.T) {
	o := tinyOptions(t)
	o.Steps, o.Select, o.SelectEvery, o.BracketSamples = 60, SelectBest, 20, 500
	// An affine generator never folds: the bracket is always available.
	o.Lower, o.Upper, o.Generator = "jacobian-exact", "gp", "mlp:2-2"
	var tr *Trainer
	h := Hooks{Progress: func(p Progress) {
		if p.Step == 40 {
			tr.energy.opt.LR, tr.gen.opt.LR = -0.02, -0.02
		}
	}}
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		t.Fatal(err)
	}
	var scores []float64
	score := func() {
		s, err := tr.bracketScore()
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, s)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	score()
	sel := tr.Selected()
	if sel == nil {
		t.Fatal("no checkpoint selected")
	}
	t.Logf("selected %+v; last iteration's score %.4f", sel, scores[0])
	if sel.Step > 40 || sel.Scores != 3 || !(sel.Score > scores[0]) {
		t.Errorf("selected %+v after a spike at 40; the last iteration scores %.4f", sel, scores[0])
	}
	if want := int(0.1 * 2000); sel.Rows != want || tr.data.Rows != 2000-want {
		t.Errorf("%d validation rows, %d training rows; want %d and %d", sel.Rows, tr.data.Rows, want, 2000-want)
	}
	for _, f := range []string{EnergyFile, GeneratorFile} {
		if !sameFile(t, filepath.Join(o.Out, f), filepath.Join(o.Out, BestDir, f)) {
			t.Errorf("%s is not the best model", f)
		}
		meta := selectedMeta(t, filepath.Join(o.Out, f))
		if meta[metaSelectStep] != strconv.Itoa(sel.Step) || meta[metaSelectScore] == "" || !strings.Contains(meta[metaSelectMetric], "importance-weighted") {
			t.Errorf("%s: metadata %v", f, meta)
		}
	}
	if res.Energy != filepath.Join(o.Out, EnergyFile) {
		t.Errorf("result names %s", res.Energy)
	}
	// The last iteration's models are not the exported ones.
	last := t.TempDir()
	if _, _, err := tr.Export(last); err != nil {
		t.Fatal(err)
	}
	if sameFile(t, filepath.Join(last, EnergyFile), filepath.Join(o.Out, EnergyFile)) {
		t.Error("the exported energy is the last iteration's")
	}
}

// TestSelectBestValidator: a caller's Validator chooses; its best score
// survives a resume, and the validation rows are fixed by the seed and
// never trained on.
func TestSelectBestValidator(t *testing.T) {
	o := tinyOptions(t)
	o.Steps, o.Select, o.SelectEvery, o.ValidationFraction = 30, SelectBest, 10, 0.25
	byStep := map[int]float64{10: 1, 20: 3, 30: 2, 40: 2.5}
	var rows [][]float64
	var tr *Trainer
	h := Hooks{Validate: func(_ context.Context, energy, generator string, valid *data.Dataset) (float64, error) {
		if _, err := os.Stat(energy); err != nil {
			return 0, err
		}
		if _, err := os.Stat(generator); err != nil {
			return 0, err
		}
		rows = append(rows, valid.Data)
		return byStep[tr.step], nil
	}}
	tr, err := NewTrainer(context.Background(), o, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sel := tr.Selected(); sel == nil || sel.Step != 20 || sel.Score != 3 || sel.Rows != 500 || sel.Metric != "validation log-likelihood" {
		t.Errorf("selected %+v, want iteration 20 with score 3 on 500 rows", sel)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], rows[2]) {
		t.Fatalf("%d validation calls; rows change between calls", len(rows))
	}
	// No validation row is a training row.
	train := map[[2]float64]bool{}
	for i := range tr.data.Rows {
		train[[2]float64{tr.data.Data[2*i], tr.data.Data[2*i+1]}] = true
	}
	for i := 0; i < len(rows[0]); i += 2 {
		if train[[2]float64{rows[0][i], rows[0][i+1]}] {
			t.Fatalf("validation row %d is a training row", i/2)
		}
	}
	// Resumed to 40 iterations: iteration 20 is still the best.
	o.Resume, o.Steps = true, 40
	if tr, err = NewTrainer(context.Background(), o, h); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sel := tr.Selected(); sel == nil || sel.Step != 20 || sel.Scores != 1 {
		t.Errorf("after resuming: selected %+v, want iteration 20 and one score this session", sel)
	}
	if m := selectedMeta(t, filepath.Join(o.Out, EnergyFile)); m[metaSelectStep] != "20" {
		t.Errorf("metadata after resuming %v", m)
	}
}

func TestSelectionCheck(t *testing.T) {
	for _, c := range []struct {
		s    Selection
		want string
	}{
		{Selection{Select: "worst"}, "Select"},
		{Selection{Select: SelectBest, SelectEvery: -1}, "SelectEvery"},
		{Selection{Select: SelectBest, ValidationFraction: 1}, "ValidationFraction"},
	} {
		if err := c.s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.s, err, c.want)
		}
	}
	for _, s := range []Selection{{}, {Select: SelectLast}, {Select: SelectBest, SelectEvery: 5, ValidationFraction: 0.2}} {
		if err := s.Check(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	o := tinyOptions(t)
	o.Select, o.Generator = SelectBest, "mlp:3-16-2"
	if _, err := NewTrainer(context.Background(), o, Hooks{}); err == nil || !strings.Contains(err.Error(), "latent") {
		t.Errorf("select best, d ≠ D, no validator: %v", err)
	}
}

// TestSelectBestUnscored trains with Select best, the default score and a
// PReLU generator, whose certified lower end is unavailable: the run says
// so once, and exports the first checkpoint scored.
func TestSelectBestUnscored(t *testing.T) {
	o := tinyOptions(t)
	o.Steps, o.Select, o.SelectEvery, o.BracketSamples = 30, SelectBest, 10, 64
	var notes []string
	tr, err := NewTrainer(context.Background(), o, Hooks{Notice: func(s string) { notes = append(notes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range notes {
		if strings.Contains(s, "could not be scored") {
			n++
		}
	}
	if sel := tr.Selected(); n != 1 || sel == nil || sel.Step != 10 || sel.Score != unscored || sel.Scores != 3 {
		t.Errorf("notices %q, selected %+v: want one notice and iteration 10 unscored of 3", notes, sel)
	}
}
