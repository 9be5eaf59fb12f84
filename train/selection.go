package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ebmpipe/ebmpipe/bounds"
	"github.com/ebmpipe/ebmpipe/internal/atomicfile"
	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// Checkpoint selection: which parameters the run exports.
const (
	SelectLast = "last" // the parameters of the last iteration
	SelectBest = "best" // those of the best validation score
)

// Defaults of Selection when Select is SelectBest.
const (
	DefaultSelectEvery        = 500
	DefaultValidationFraction = 0.1
)

// BestDir is the directory of Options.Out that holds the models of the
// best validation score so far, with Select best.
const BestDir = "best"

// Selection chooses the checkpoint a run exports. With Select best, a
// share ValidationFraction of the training rows is held out (never
// trained on), the models are scored on them every SelectEvery
// iterations and at the end, and the best-scoring ones are exported.
// The zero value exports the last iteration. The JSON names are the
// flag names.
type Selection struct {
	// Select is "last" (or empty) or "best".
	Select string `json:"select,omitempty"`
	// SelectEvery is the number of iterations between validation scores
	// (0: DefaultSelectEvery).
	SelectEvery int `json:"select-every,omitempty"`
	// ValidationFraction is the share of the training rows held out for
	// validation (0: DefaultValidationFraction).
	ValidationFraction float64 `json:"validation-fraction,omitempty"`
}

// Check reports every invalid field of s.
func (s Selection) Check() error {
	var errs []error
	if s.Select != "" && s.Select != SelectLast && s.Select != SelectBest {
		errs = append(errs, fielderr.Errorf("{Select} %q: want %s or %s", s.Select, SelectLast, SelectBest))
	}
	if s.SelectEvery < 0 {
		errs = append(errs, fielderr.Errorf("{SelectEvery} %d: must not be negative", s.SelectEvery))
	}
	if !(s.ValidationFraction >= 0 && s.ValidationFraction < 1) {
		errs = append(errs, fielderr.Errorf("{ValidationFraction} %v: want a number in [0, 1), 0 for %v", s.ValidationFraction, DefaultValidationFraction))
	}
	return errors.Join(errs...)
}

// normal returns s with the defaults written as zero, so that equal
// settings compare equal (a checkpoint's options).
func (s Selection) normal() Selection {
	if s.Select == SelectLast {
		s.Select = ""
	}
	if s.Select == "" {
		return Selection{}
	}
	if s.SelectEvery == DefaultSelectEvery {
		s.SelectEvery = 0
	}
	if s.ValidationFraction == DefaultValidationFraction {
		s.ValidationFraction = 0
	}
	return s
}

// every returns the iterations between validation scores.
func (s Selection) every() int {
	if s.SelectEvery > 0 {
		return s.SelectEvery
	}
	return DefaultSelectEvery
}

// fraction returns the share of rows held out.
func (s Selection) fraction() float64 {
	if s.ValidationFraction > 0 {
		return s.ValidationFraction
	}
	return DefaultValidationFraction
}

// A Validator scores exported models on validation rows: it returns their
// held-out log-likelihood, or any score where higher is better, in nats
// per example. energy and generator are the paths of exported models,
// which take and give rows as read; valid holds the validation rows as
// read.
type Validator func(ctx context.Context, energy, generator string, valid *data.Dataset) (float64, error)

// SelectedResult records the checkpoint Select best chose.
type SelectedResult struct {
	Step   int     `json:"step"`   // its iteration
	Score  float64 `json:"score"`  // its validation score
	Metric string  `json:"metric"` // what the score is
	Rows   int     `json:"rows"`   // validation rows
	Scores int     `json:"scores"` // validation scores taken in this session
}

// selector is the state of Select best.
type selector struct {
	valid    *data.Dataset // as read
	validate Validator
	metric   string
	best     *SelectedResult
	scores   int
	// toldUnscored: the notice that a checkpoint could not be scored was
	// given.
	toldUnscored bool
}

// unscored is the score of a checkpoint whose certified lower end is
// unavailable: the lowest float, kept only if no other is scored.
const unscored = -math.MaxFloat64

// Metadata keys of the exported models of a Select best run.
const (
	metaSelectStep   = "ebmpipe.selected_step"
	metaSelectScore  = "ebmpipe.selected_score"
	metaSelectMetric = "ebmpipe.selected_metric"
)

// newSelector holds out the validation rows of d (as read) when s selects
// the best checkpoint, and returns the rows left to train on; with no
// selection it returns nil and d.
func newSelector(s Selection, d *data.Dataset, seed uint64, v Validator) (*selector, *data.Dataset, error) {
	if s.Select != SelectBest {
		return nil, d, nil
	}
	rest, valid := d.Split(s.fraction(), data.NewRNG(seed, "validation").Uint64())
	if valid.Rows < 2 || rest.Rows < 2 {
		return nil, nil, fielderr.Errorf("{ValidationFraction} %v of the %d rows leaves %d to train on and %d to validate on; need at least 2 of each",
			s.fraction(), d.Rows, rest.Rows, valid.Rows)
	}
	sel := &selector{valid: valid, validate: v, metric: "validation log-likelihood"}
	if v == nil {
		sel.metric = "minus the importance-weighted lower bound on the validation NLL"
	}
	return sel, rest, nil
}

// Selected returns the checkpoint chosen by Select best so far, or nil.
func (tr *Trainer) Selected() *SelectedResult {
	if tr.sel == nil || tr.sel.best == nil {
		return nil
	}
	b := *tr.sel.best
	b.Scores = tr.sel.scores
	return &b
}

// selectStep scores the current models on the validation rows, if due,
// and exports them to Out/best when they beat the best so far.
func (tr *Trainer) selectStep(ctx context.Context) error {
	if tr.sel == nil || (tr.step%tr.o.every() != 0 && tr.step != tr.o.Steps) {
		return nil
	}
	score, err := tr.validationScore(ctx)
	if err != nil {
		return fmt.Errorf("validation score at iteration %d: %w", tr.step, err)
	}
	tr.sel.scores++
	if score == unscored && !tr.sel.toldUnscored && tr.hooks.Notice != nil {
		tr.sel.toldUnscored = true
		tr.hooks.Notice(fmt.Sprintf("select best: iteration %d could not be scored: the certified lower end is unavailable for this generator (it folds, or its density is unknown); such checkpoints score lowest, and if none can be scored the first is exported", tr.step))
	}
	if b := tr.sel.best; b != nil && !(score > b.Score) {
		return nil
	}
	tr.sel.best = &SelectedResult{Step: tr.step, Score: score, Metric: tr.sel.metric, Rows: tr.sel.valid.Rows}
	tr.exportExtra = tr.selectMeta()
	defer func() { tr.exportExtra = nil }()
	dir := filepath.Join(tr.o.Out, BestDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, _, err = tr.Export(dir)
	return err
}

// validationScore scores the current models: by the Validator on models
// exported to a temporary directory, or by minus the certified iw lower
// bound on the NLL of the validation rows.
func (tr *Trainer) validationScore(ctx context.Context) (float64, error) {
	if tr.sel.validate == nil {
		return tr.bracketScore()
	}
	dir, err := os.MkdirTemp(tr.o.Out, ".validate-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	e, g, err := tr.Export(dir)
	if err != nil {
		return 0, err
	}
	score, err := tr.sel.validate(ctx, e, g, tr.sel.valid)
	if err == nil && math.IsNaN(score) {
		err = errors.New("the score is NaN")
	}
	return score, err
}

// bracketScore returns minus the importance-weighted lower end of the
// certified bracket on the validation rows, standardised as the networks
// take them, less the log-determinant of the standardisation: minus a
// lower bound on the NLL of the rows as read, which needs no estimate of
// log Z. It is an estimate of their log-likelihood from above, whose gap
// grows as the generator strays from the energy's law; the χ² upper end
// would punish that instead, but it is unavailable whenever the
// importance weights have heavy tails (Pareto k̂ ≥ 1), which is common
// early in training. Where the lower end is unavailable (a generator
// that folds, whose density is unknown) the score is unscored.
func (tr *Trainer) bracketScore() (float64, error) {
	v := tr.standardised(tr.sel.valid)
	n := max(tr.o.BracketSamples, 16)
	batch := min(500, n)
	c := bounds.DefaultCertified()
	c.OutputOp, c.Kinks = tr.nets[1].outputOp(), bounds.KinkedOps(tr.nets[1].model.GetGraph())
	ev, err := newEvalProgram(tr.nets[:2], &c, nil, batch, v.Width, tr.nets[1].inWidth)
	if err != nil {
		return 0, err
	}
	defer ev.vm.Close()
	s, err := data.NewSampler(v, tr.o.Seed)
	if err != nil {
		return 0, err
	}
	dr := Draws{Data: s, Z: data.NewRNG(tr.o.Seed, "z"), Noise: data.NewRNG(tr.o.Seed, "noise"), Samples: n, Batch: batch}
	br, _, err := measureBracket(&c, ev, dr, tr.nets[1].inWidth)
	if ue := (*bounds.UnavailableError)(nil); errors.As(err, &ue) || (err == nil && math.IsNaN(br.Lower.Value)) {
		return unscored, nil
	}
	if err != nil {
		return 0, err
	}
	logDet := 0.0
	for _, s := range tr.data.Scale {
		logDet += math.Log(s)
	}
	return -(br.Lower.Value + logDet), nil
}

// standardised returns the rows of v (as read) standardised as the
// training data are.
func (tr *Trainer) standardised(v *data.Dataset) *data.Dataset {
	if tr.data.Shift == nil {
		return v
	}
	out := *v
	out.Data = make([]float64, len(v.Data))
	for i, x := range v.Data {
		j := i % v.Width
		out.Data[i] = (x - tr.data.Shift[j]) / tr.data.Scale[j]
	}
	out.Shift, out.Scale = tr.data.Shift, tr.data.Scale
	return &out
}

// selectMeta returns the metadata recording the best checkpoint.
func (tr *Trainer) selectMeta() map[string]string {
	b := tr.sel.best
	return map[string]string{
		metaSelectStep:   strconv.Itoa(b.Step),
		metaSelectScore:  strconv.FormatFloat(b.Score, 'g', -1, 64),
		metaSelectMetric: b.Metric,
	}
}

// restoreSelection reads the best checkpoint so far from a checkpoint's
// metadata.
func (tr *Trainer) restoreSelection(meta map[string]string) error {
	if tr.sel == nil || meta[metaSelectStep] == "" {
		return nil
	}
	step, err1 := strconv.Atoi(meta[metaSelectStep])
	score, err2 := strconv.ParseFloat(meta[metaSelectScore], 64)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("the best checkpoint's record: %w", err)
	}
	tr.sel.best = &SelectedResult{Step: step, Score: score, Metric: meta[metaSelectMetric], Rows: tr.sel.valid.Rows}
	return nil
}

// exportSelected exports the run's models to dir: the last iteration's,
// or with Select best the best-scoring ones, copied from Out/best.
func (tr *Trainer) exportSelected(dir string) (energy, generator string, err error) {
	if tr.sel == nil {
		return tr.Export(dir)
	}
	if tr.sel.best == nil {
		return "", "", errors.New("select best: no validation score was taken")
	}
	energy, generator = filepath.Join(dir, EnergyFile), filepath.Join(dir, GeneratorFile)
	for _, f := range []string{EnergyFile, GeneratorFile} {
		b, err := os.ReadFile(filepath.Join(tr.o.Out, BestDir, f))
		if err != nil {
			return "", "", fmt.Errorf("select best: %w", err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f), b); err != nil {
			return "", "", fmt.Errorf("select best: %s: %w", filepath.Join(dir, f), err)
		}
	}
	return energy, generator, nil
}

// checkSelection refuses Select best without a Validator when the
// certified bracket does not apply: it needs as many latent as data
// dimensions.
func (tr *Trainer) checkSelection() error {
	if tr.sel == nil || tr.sel.validate != nil || tr.gen.inWidth == tr.data.Width {
		return nil
	}
	return fielderr.Errorf("{Select} best: the default score, the certified bracket on the validation rows, needs as many latent as data dimensions (the generator maps %d to %d)",
		tr.gen.inWidth, tr.data.Width)
}
