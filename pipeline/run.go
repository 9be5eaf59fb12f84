package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"

	"github.com/ebmpipe/ebmpipe/pipeline/plot"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/score"

	"errors"

	"github.com/ebmpipe/ebmpipe/internal/rows"
	"github.com/ebmpipe/ebmpipe/train"
	"github.com/ebmpipe/ebmpipe/train/data"
)

// Sections of a run file, each named after the ebmpipe command whose flags
// it holds.
const (
	SectionRun    = "run"    // HeldOutOptions, flags of ebmpipe run
	SectionTrain  = "train"  // train.Options
	SectionLogZ   = "logz"   // logz.FileOptions
	SectionBounds = "bounds" // evaluate.BoundsOptions
	SectionScore  = "score"  // score.Options
)

// Files a run writes into its output directory (train's --out), besides
// those of train.
const (
	TestFile       = "test.csv"        // the held-out rows, as the models take them
	TestScoresFile = "test_scores.csv" // their energies and log densities
	TrainSplitFile = "train.csv"       // the training rows, when a data file is split
)

// DefaultTestRows is the number of held-out toy points when
// HeldOutOptions.TestRows is 0.
const DefaultTestRows = 10000

// HeldOutOptions choose the held-out rows of a run: the flags of ebmpipe
// run, and the section "run" of a run file. The JSON names are the flag
// names.
type HeldOutOptions struct {
	// Test is a row file or toy:NAME of held-out rows. If empty, a toy
	// training set is drawn again with another seed, and a training
	// file is split, TestFraction of its rows held out.
	Test string `json:"test"`
	// TestRows is the number of held-out toy points, or of leading rows
	// read from a Test file; 0 means 10000 toy points or the whole file.
	TestRows int `json:"test-rows"`
	// TestFraction is the share of a training file held out when Test
	// is empty.
	TestFraction float64 `json:"test-fraction"`
}

// DefaultHeldOutOptions returns the options with the flag defaults.
func DefaultHeldOutOptions() HeldOutOptions {
	return HeldOutOptions{TestFraction: 0.1}
}

// Check reports every invalid option.
func (o *HeldOutOptions) Check() error {
	var errs []error
	if o.TestRows < 0 {
		errs = append(errs, fielderr.Errorf("{TestRows} %d: must be at least 0", o.TestRows))
	}
	if !(o.TestFraction > 0 && o.TestFraction < 1) {
		errs = append(errs, fielderr.Errorf("{TestFraction} %g: want a number between 0 and 1", o.TestFraction))
	}
	return errors.Join(errs...)
}

// RunOptions are the settings of one run, a section per command. The run
// sets some options itself, to tie the steps together: see Run.
type RunOptions struct {
	Run    HeldOutOptions         `json:"run"`
	Train  train.Options          `json:"train"`
	LogZ   logz.FileOptions       `json:"logz"`
	Bounds evaluate.BoundsOptions `json:"bounds"`
	Score  score.Options          `json:"score"`
}

// DefaultRunOptions returns the defaults of every section.
func DefaultRunOptions() RunOptions {
	return RunOptions{
		Run:    DefaultHeldOutOptions(),
		Train:  train.DefaultOptions(),
		LogZ:   logz.DefaultFileOptions(),
		Bounds: evaluate.DefaultBoundsOptions(),
		Score:  score.DefaultOptions(),
	}
}

// RunHooks report on a run as it goes. Any may be nil.
type RunHooks struct {
	// Stage is told of each step as it starts, in a short sentence.
	Stage func(msg string)
	// Notice is told of choices made on the user's behalf, such as
	// falling back to the Go engine. Remarks on the data and the
	// estimates go to RunResult.Notes.
	Notice func(msg string)
	// Progress is called after every training iteration.
	Progress func(train.Progress)
}

func (h RunHooks) stage(format string, args ...any) {
	if h.Stage != nil {
		h.Stage(fmt.Sprintf(format, args...))
	}
}

// RunResult sums up a run.
type RunResult struct {
	// Options are the options as run, with those the run sets.
	Options RunOptions
	Train   *train.Result
	LogZ    logz.Result
	Bounds  *evaluate.BoundsReport
	// Lower and Upper are the training bounds (Options.Train.Lower and
	// Upper) evaluated on the held-out rows: the bracket
	// Lower ≤ NLL ≤ Upper, in nats per example. A bound that could not
	// be evaluated (mi without an encoder, the surrogate gp0, none) has a
	// NaN value.
	Lower, Upper evaluate.BoundValue
	// Test is the model's held-out log-likelihood, the mean of
	// log p(x) = −E(x) − log Z over the held-out rows.
	Test evaluate.LogLik
	// Gaussian is the held-out log-likelihood of a single Gaussian (full
	// covariance) fitted to the training rows, a baseline.
	Gaussian evaluate.LogLik
	// Engine is the engine that scored the held-out rows: ort or go.
	Engine string
	// Selected is the checkpoint exported with Train.Select best, or nil.
	Selected *train.SelectedResult
	// Quality compares the generator's samples with the held-out rows
	// (MeasureSamples).
	Quality *SampleQuality
	// Scored counts the rows of the score section's file, if any.
	Scored *score.Stats
	// Files are the files and directories written, the output directory
	// first.
	Files []string
	// Notes are remarks on the data and the estimates, for the user.
	Notes []string
	// Duration is the run's wall time.
	Duration time.Duration
}

// Run runs a whole pipeline:
//
//  1. The held-out rows: HeldOutOptions.Test, or, by default, a toy
//     training set drawn again with seed Train.Seed+1, or a split of a
//     training file (its first Train.DataRows rows), TestFraction of
//     them held out at random. They are written to OUT/test.csv, and the
//     rest of a split file to OUT/train.csv, which the run trains on.
//     Unless Train.Resume, a run refuses an OUT that holds a run; if
//     training cannot start, the files it wrote are removed.
//  2. Training (train.Run): OUT/metrics.csv, OUT/checkpoint/,
//     OUT/energy.onnx and OUT/generator.onnx, where OUT is Train.Out.
//  3. log Z of the energy (logz.EstimateFile with Model OUT/energy.onnx and the
//     training data), written into its metadata in place.
//  4. The bounds (evaluate.EvaluateBounds) of the models on the held-out
//     rows; Lower and Upper of the result are the training pair.
//  5. The held-out rows scored (Score with the score section's engine
//     settings) into OUT/test_scores.csv; the test log-likelihood is the
//     mean of their log densities, compared with a single Gaussian fitted
//     to the training rows.
//  6. The score section's Input, if given, scored into its Output.
//  7. Pictures of the models and the training curves (PlotTrained) in
//     OUT.
//  8. The numbers (RunResults) into OUT/results.json.
//
// Between 5 and 6, the generator's samples are compared with the held-out
// rows (MeasureSamples): energy distance, and for toy data the mode
// coverage and the true law's log-likelihood.
//
// The options the run sets (logz: model, data, data-rows, generator,
// output; bounds: energy, generator, encoder, data, data-rows, json;
// score: model) are overwritten. Every file is written to a temporary
// file and renamed into place.
func Run(ctx context.Context, o RunOptions, h RunHooks) (*RunResult, error) {
	start := time.Now()
	if err := o.Check(); err != nil {
		return nil, err
	}
	out := o.Train.Out
	res := &RunResult{Files: []string{out}}
	note := func(msg string) { res.Notes = append(res.Notes, msg) }

	// 1. Held-out rows, and the training part of a split file; 2. training.
	test, tr, err := o.prepare(ctx, h, res)
	if err != nil {
		return nil, err
	}
	for _, n := range tr.Data().Notes {
		note(n)
	}
	if res.Train, err = tr.Run(ctx); err != nil {
		return nil, err
	}
	res.Selected = tr.Selected()
	res.Files = append(res.Files, res.Train.Energy, res.Train.Generator,
		filepath.Join(out, train.MetricsFile), filepath.Join(out, train.CheckpointDir)+string(filepath.Separator))
	trainRows := tr.Data().Raw()

	// 3. log Z.
	h.stage("estimating log Z")
	o.LogZ.Model, o.LogZ.Data, o.LogZ.DataRows = res.Train.Energy, o.Train.Data, o.Train.DataRows
	o.LogZ.Generator, o.LogZ.Output = "", ""
	o.LogZ.Notice = h.Notice
	if res.LogZ, _, err = logz.EstimateFile(ctx, o.LogZ); err != nil {
		return nil, fmt.Errorf("log Z: %w", err)
	}
	for _, n := range res.LogZ.Notes {
		note("log Z: " + n)
	}

	// 4. Bounds on the held-out rows; 5. test log-likelihood.
	if err := o.evaluate(ctx, h, res, test, trainRows, note); err != nil {
		return nil, err
	}

	// 5b. The generator's samples against the held-out rows.
	h.stage("comparing %d generator samples with the held-out rows", QualitySamples)
	if res.Quality, err = MeasureSamples(ctx, res.Train.Generator, ToyName(o.Train.Data), test.Source == o.Train.Data,
		test.Raw(), test.Width, o.Train.Seed); err != nil {
		return nil, fmt.Errorf("sample quality: %w", err)
	}

	// 6. The score section's file.
	if o.Score.Input != "" {
		h.stage("scoring %s", o.Score.Input)
		so := o.Score
		so.Model = res.Train.Energy
		so.Notice = h.Notice
		st, err := score.Score(ctx, so)
		if err != nil {
			return nil, err
		}
		res.Scored = &st
		res.Files = append(res.Files, so.Output)
		if so.SkipBadRows {
			res.Files = append(res.Files, so.Output+".rejects")
		}
	}

	// 7. Pictures.
	h.stage("drawing pictures")
	files, err := plot.Trained(ctx, out, tr.Data(), note)
	res.Files = append(res.Files, files...)
	if err != nil {
		note(fmt.Sprintf("pictures: %v", err))
	}

	res.Options = o
	res.Duration = time.Since(start)
	results := filepath.Join(out, ResultsFile)
	if err := res.writeResults(results); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, results)
	return res, nil
}

// prepare does the first steps of Run: it reads or draws the held-out rows,
// writes them (and the training part of a split file, which o then trains
// on), and makes the trainer. If it fails, it removes what it wrote.
func (o *RunOptions) prepare(ctx context.Context, h RunHooks, res *RunResult) (test *data.Dataset, tr *train.Trainer, err error) {
	out := o.Train.Out
	testPath := filepath.Join(out, TestFile)

	// 1. Held-out rows, and the training part of a split file. Nothing
	// is written over a run, and nothing is left behind if training
	// cannot start.
	if !o.Train.Resume {
		for _, f := range []string{TestFile, TrainSplitFile, TestScoresFile} {
			if p := filepath.Join(out, f); exists(p) {
				return nil, nil, fielderr.Errorf("{Out} %s already holds a run (%s); choose another {Out}", out, p)
			}
		}
	}
	var created []string // removed if training cannot start
	cleanup := func() {
		for _, p := range slices.Backward(created) {
			os.Remove(p)
		}
	}
	if !exists(out) {
		created = append(created, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, fielderr.Errorf("{Out}: %w", err)
	}
	h.stage("held-out rows")
	test, trainPart, err := o.heldOut()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if trainPart != nil {
		path := filepath.Join(out, TrainSplitFile)
		if err := writeDataset(path, trainPart); err != nil {
			cleanup()
			return nil, nil, err
		}
		created = append(created, path)
		res.Files = append(res.Files, path)
		o.Train.Data, o.Train.DataRows = path, 0
	}

	// 2. Training.
	h.stage("training %d iterations on %s (lower bound %s, upper bound %s)", o.Train.Steps, o.Train.Data, o.Train.Lower, o.Train.Upper)
	tr, err = train.NewTrainer(ctx, o.Train, train.Hooks{Progress: h.Progress, Validate: o.validator(), Notice: h.Notice})
	if err == nil && tr.Data().Width != test.Width {
		err = fmt.Errorf("the held-out rows %s have %d values, the training data %s %d", test.Source, test.Width, o.Train.Data, tr.Data().Width)
	}
	if err == nil {
		err = writeDataset(testPath, test)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	res.Files = append(res.Files, testPath)
	return test, tr, nil
}

// evaluate does steps 4 and 5 of Run: the bounds of the trained models on
// the held-out rows test, and their test log-likelihood, with that of a
// Gaussian fitted to the training rows trainRows.
func (o *RunOptions) evaluate(ctx context.Context, h RunHooks, res *RunResult, test *data.Dataset, trainRows []float64, note func(string)) error {
	out := o.Train.Out
	testPath := filepath.Join(out, TestFile)
	var err error
	// 4. Bounds on the held-out rows.
	h.stage("evaluating the bounds on %d held-out rows", test.Rows)
	o.Bounds.Energy, o.Bounds.Generator, o.Bounds.Encoder = res.Train.Energy, res.Train.Generator, ""
	o.Bounds.Data, o.Bounds.DataRows, o.Bounds.JSON = testPath, 0, false
	if res.Bounds, err = evaluate.EvaluateBounds(ctx, o.Bounds); err != nil {
		return fmt.Errorf("bounds: %w", err)
	}
	res.Lower = evaluate.BracketBound(res.Bounds.Lower, nil, o.Train.Lower, "lower", note)
	res.Upper = evaluate.BracketBound(res.Bounds.Upper, res.Bounds.NotBounds, o.Train.Upper, "upper", note)

	// 5. Test log-likelihood.
	h.stage("scoring the held-out rows")
	so := o.Score
	so.Model, so.Input, so.Output = res.Train.Energy, testPath, filepath.Join(out, TestScoresFile)
	so.Raw, so.SkipBadRows, so.Notice, so.Progress = false, false, h.Notice, nil
	st, err := score.Score(ctx, so)
	if err != nil {
		return err
	}
	res.Engine = st.Engine
	res.Files = append(res.Files, so.Output)
	if res.Test, err = evaluate.MeanLogDensity(so.Output); err != nil {
		return err
	}
	res.Gaussian = evaluate.GaussianLogLik(trainRows, test)
	return nil
}

// Check reports every invalid option of every section, naming the
// section; the options the run sets are not checked.
func (o *RunOptions) Check() error {
	var errs []error
	section := func(name string, err error) {
		if err != nil {
			errs = append(errs, &sectionError{name, err})
		}
	}
	section(SectionRun, o.Run.Check())
	section(SectionTrain, o.Train.Check())
	lz := o.LogZ
	lz.Model, lz.Data, lz.DataRows = TestFile, "", 0
	section(SectionLogZ, lz.Check())
	b := o.Bounds
	b.Energy, b.Generator, b.Data, b.DataRows = TestFile, TestFile, TestFile, 0
	section(SectionBounds, b.Check())
	s := o.Score
	if s.Input == "" && s.Output != "" {
		errs = append(errs, fielderr.Errorf("%s: {Score.Output} needs {Score.Input}", SectionScore))
		return errors.Join(errs...)
	}
	if s.Input == "" {
		s.Input, s.Output = TestFile, TestScoresFile
	}
	s.Model = TestFile
	section(SectionScore, s.Check())
	return errors.Join(errs...)
}

// A sectionError is the problems with the options of one section of a
// run, on one line.
type sectionError struct {
	section string
	err     error
}

func (e *sectionError) Error() string {
	return e.section + ": " + strings.ReplaceAll(e.err.Error(), "\n", "; ")
}

func (e *sectionError) Unwrap() error { return e.err }

// heldOut returns the held-out rows, as read, and, when a training file
// is split, its training part.
func (o *RunOptions) heldOut() (test, trainPart *data.Dataset, err error) {
	seed := o.Train.Seed + 1
	spec, rows, field := o.Run.Test, o.Run.TestRows, "Run.Test"
	if spec == "" && strings.HasPrefix(o.Train.Data, "toy:") {
		spec, field = o.Train.Data, "Train.Data"
	}
	if spec != "" {
		if rows == 0 && strings.HasPrefix(spec, "toy:") {
			rows = DefaultTestRows
		}
		d, err := data.LoadData(spec, rows, seed)
		if err != nil {
			return nil, nil, fielderr.Errorf("{"+field+"}: %w", err)
		}
		return d, nil, nil
	}
	all, err := data.LoadData(o.Train.Data, o.Train.DataRows, o.Train.Seed)
	if err != nil {
		return nil, nil, fielderr.Errorf("{Data}: %w", err)
	}
	trainPart, test = all.Split(o.Run.TestFraction, o.Train.Seed)
	if test.Rows < 2 || trainPart.Rows < 2 {
		return nil, nil, fielderr.Errorf("{TestFraction} %g of the %d rows of %s leaves %d to train on and %d held out; need at least 2 of each",
			o.Run.TestFraction, all.Rows, o.Train.Data, trainPart.Rows, test.Rows)
	}
	return test, trainPart, nil
}

// exists reports whether there is a file or directory at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// writeDataset writes d's rows as read to a CSV file, with d's column names
// or x0, x1, ...
func writeDataset(path string, d *data.Dataset) error {
	cols := d.Columns
	if len(cols) != d.Width {
		cols = make([]string, d.Width)
		for j := range cols {
			cols[j] = "x" + strconv.Itoa(j)
		}
	}
	w, err := rows.CreateWriter(path, cols)
	if err != nil {
		return err
	}
	if err := w.Write(d.Raw()); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// WriteReport writes what a run found, for people: the training, log Z,
// the bounds, the bracket L_low ≤ NLL ≤ L_up on the held-out rows, the
// test log-likelihood beside the Gaussian baseline, and the files
// written.
func (r *RunResult) WriteReport(w io.Writer) error {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "trained %d iterations on %s (%.1f it/s); whole run %s\n",
		r.Train.Steps, o.Train.Data, r.Train.StepsPerSecond, r.Duration.Round(time.Second))
	fmt.Fprintln(&b, r.LogZ)
	fmt.Fprintf(&b, "\nbounds on the %d held-out rows, nats per example:\n", r.Test.Rows)
	tbl := *r.Bounds
	tbl.NLL = nil // the bracket below has the NLL of every held-out row
	if err := evaluate.WriteBoundsTable(&b, &tbl); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nbracket (%s, %s): L_low %s ≤ NLL %.4f ≤ L_up %s nats per example\n",
		o.Train.Lower, o.Train.Upper, formatBound(r.Lower), -r.Test.Mean, formatBound(r.Upper))
	fmt.Fprintf(&b, "test log-likelihood: %.4f ± %.4f nats per example (%d held-out rows, %s engine)\n",
		r.Test.Mean, r.Test.StdErr, r.Test.Rows, r.Engine)
	fmt.Fprintf(&b, "single Gaussian fitted to the training data: %.4f ± %.4f (the model is %s by %.4f)\n",
		r.Gaussian.Mean, r.Gaussian.StdErr, betterWorse(r.Test.Mean-r.Gaussian.Mean), math.Abs(r.Test.Mean-r.Gaussian.Mean))
	if r.Quality != nil {
		b.WriteString(r.Quality.String())
	}
	if r.Scored != nil {
		fmt.Fprintf(&b, "scored %d rows of %s into %s\n", r.Scored.Rows, o.Score.Input, o.Score.Output)
	}
	if sel := r.Selected; sel != nil {
		fmt.Fprintf(&b, "exported the models of iteration %d, the best of %d validation scores (%s %.4f on %d rows held out of the training data)\n",
			sel.Step, sel.Scores, sel.Metric, sel.Score, sel.Rows)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", fielderr.RenameNote(n, nil))
	}
	fmt.Fprintln(&b, "\nfiles written:")
	for _, f := range r.Files[1:] {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatBound(v evaluate.BoundValue) string {
	if math.IsNaN(v.Value) {
		return "n/a"
	}
	return fmt.Sprintf("%.4f ± %.4f", v.Value, v.StdErr)
}

func betterWorse(d float64) string {
	if d >= 0 {
		return "better"
	}
	return "worse"
}
