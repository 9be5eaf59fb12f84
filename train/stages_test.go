package train

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestStages checks the energy step's stages: where they start, the noise
// levels each one's diffusion bound draws for, and that only the stages
// with importance-weighted negatives compute their weights.
func TestStages(t *testing.T) {
	cases := []struct {
		name       string
		alpha      float64
		impFrom    int
		late       []float64
		lateFrom   int
		starts     []int
		levels     []int  // noise levels per stage
		importance []bool // per stage
	}{
		{"plain", 0, 0, nil, 0, []int{0}, []int{4}, []bool{false}},
		{"importance from the start", 1, 0, nil, 0, []int{0}, []int{4}, []bool{true}},
		{"importance later", 0.5, 3, nil, 0, []int{0, 3}, []int{4, 4}, []bool{false, true}},
		{"late levels", 0, 0, []float64{0.01, 0.02}, 5, []int{0, 5}, []int{4, 2}, []bool{false, false}},
		{"both at once", 0.5, 5, []float64{0.01, 0.02}, 5, []int{0, 5}, []int{4, 2}, []bool{false, true}},
		{"importance first", 0.5, 3, []float64{0.01, 0.02}, 5, []int{0, 3, 5}, []int{4, 4, 2}, []bool{false, true, true}},
		{"levels first", 0.5, 5, []float64{0.01, 0.02, 0.03}, 3, []int{0, 3, 5}, []int{4, 3, 3}, []bool{false, false, true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := tinyOptions(t)
			o.Upper = "diffusion"
			o.ImportanceNegatives, o.ImportanceFrom = c.alpha, c.impFrom
			o.LateSigmas, o.LateFrom = c.late, c.lateFrom
			tr, err := NewTrainer(context.Background(), o, Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			var starts []int
			for i, s := range tr.eStages {
				starts = append(starts, s.from)
				if rows := s.p.noise[0].Shape()[0]; rows != c.levels[i]*o.BatchSize {
					t.Errorf("stage from %d: diffusion noise of %d rows, want %d levels of %d", s.from, rows, c.levels[i], o.BatchSize)
				}
				if _, ok := s.p.scalars[colImportanceESS]; ok != c.importance[i] {
					t.Errorf("stage from %d: importance weights computed %v, want %v", s.from, ok, c.importance[i])
				}
				if got := tr.energyProgram(s.from); got != s.p {
					t.Errorf("iteration %d does not run the stage starting there", s.from)
				}
				if s.from > 0 && tr.energyProgram(s.from-1) != tr.eStages[i-1].p {
					t.Errorf("iteration %d does not run the stage before %d", s.from-1, s.from)
				}
			}
			if !slices.Equal(starts, c.starts) {
				t.Errorf("stages start at %v, want %v", starts, c.starts)
			}
		})
	}
}

// TestLateSigmasCheck checks that invalid late noise levels are refused,
// naming the field, and that with an upper bound without noise levels
// they are turned off with a notice.
func TestLateSigmasCheck(t *testing.T) {
	cases := []struct {
		upper string
		late  []float64
		from  int
		want  string
	}{
		{"diffusion", []float64{0.02, 0.01}, 10, "increasing"},
		{"diffusion", []float64{0.01}, -1, "negative"},
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.Upper, o.LateSigmas, o.LateFrom = c.upper, c.late, c.from
		_, err := NewTrainer(context.Background(), o, Hooks{})
		if err == nil || !strings.Contains(err.Error(), "Late") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming the late field and %q", c, err, c.want)
		}
	}
	o := tinyOptions(t)
	o.Upper, o.LateSigmas, o.LateFrom, o.ImportanceNegatives = "gp", []float64{0.01}, 10, 0
	var notes []string
	tr, err := NewTrainer(context.Background(), o, Hooks{Notice: func(m string) { notes = append(notes, m) }})
	if err != nil || len(tr.eStages) != 1 || len(notes) != 1 || !strings.Contains(notes[0], `"gp" has none`) {
		t.Errorf("gp with late levels: error %v, notices %q; want one stage and a notice that gp has no levels", err, notes)
	}
}

// TestNoteWindow checks the notice of a run that ends in the default's
// window of play (sharp levels from 5 000, weights from 10 000) or less
// than windowHeal iterations after it, and its silence otherwise.
func TestNoteWindow(t *testing.T) {
	cases := []struct {
		steps, lateFrom int
		want            bool
	}{
		{3000, 5000, false},
		{5000, 5000, false},
		{5001, 5000, true},
		{12000, 5000, true},
		{19999, 5000, true},
		{20000, 5000, false},
		{12000, 10000, false}, // no window: levels and weights together
	}
	for _, c := range cases {
		o := tinyOptions(t)
		o.Steps, o.LateFrom, o.ImportanceFrom = c.steps, c.lateFrom, 10000
		var notes []string
		tr := &Trainer{o: o}
		tr.noteWindow(func(m string) { notes = append(notes, m) })
		if got := len(notes) == 1 && strings.Contains(notes[0], "window of play"); got != c.want || len(notes) > 1 {
			t.Errorf("--steps %d, late stage from %d: notices %q, want one: %v", c.steps, c.lateFrom, notes, c.want)
		}
	}
}

// TestLinearRamp checks the schedule of the mix's ramp and the match
// term's decay: held before from, linear over steps, held after.
func TestLinearRamp(t *testing.T) {
	for _, c := range []struct {
		from, steps, step int
		start, end, want  float64
	}{
		{10, 4, 0, 30, 0, 30},
		{10, 4, 12, 30, 0, 15},
		{10, 4, 14, 30, 0, 0},
		{10, 4, 99, 30, 0, 0},
		{0, 4, 1, 0.5, 1, 0.625},
		{0, 4, 9, 0.5, 1, 1},
	} {
		if got := linearRamp(c.from, c.steps, c.start, c.end)(c.step); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
}
