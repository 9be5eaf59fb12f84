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

	"github.com/ebmpipe/ebmpipe/pipeline/evaluate"

	"github.com/ebmpipe/ebmpipe/pipeline/plot"

	"github.com/ebmpipe/ebmpipe/pipeline/logz"

	"github.com/ebmpipe/ebmpipe/pipeline/score"

	"github.com/spf13/pflag"

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
	SectionBounds = "bounds" // train.BoundsOptions
	SectionScore  = "score"  // score.Options
)

// Files a run writes into its output directory (train's --out), besides
// those of train.
const (
	TestFile       = "test.csv"        // the held-out rows, as the models take them
	TestScoresFile = "test_scores.csv" // their energies and log densities
	TrainSplitFile = "train.csv"       // the training rows, when a data file is split
)

// defaultTestRows is the number of held-out toy points when
// HeldOutOptions.TestRows is 0.
const defaultTestRows = 10000

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

// AddFlags defines the options as flags on fs, with their defaults.
func (o *HeldOutOptions) AddFlags(fs *pflag.FlagSet) {
	d := DefaultHeldOutOptions()
	fs.StringVar(&o.Test, "test", d.Test, "held-out rows: a row `FILE` (.csv, .npy, .jsonl) or toy:NAME (default: toy training data drawn again with --seed + 1, or --test-fraction of a training file)")
	fs.IntVar(&o.TestRows, "test-rows", d.TestRows, fmt.Sprintf("held-out toy points, or leading rows of a --test file (0: %d toy points, or the whole file)", defaultTestRows))
	fs.Float64Var(&o.TestFraction, "test-fraction", d.TestFraction, "`FRACTION` of the rows of a training file held out, when there is no --test")
}

// Check reports the first invalid option.
func (o *HeldOutOptions) Check() error {
	switch {
	case o.TestRows < 0:
		return fmt.Errorf("--test-rows %d: must be at least 0", o.TestRows)
	case !(o.TestFraction > 0 && o.TestFraction < 1):
		return fmt.Errorf("--test-fraction %g: want a number between 0 and 1", o.TestFraction)
	}
	return nil
}

// RunOptions are the settings of one run, a section per command. The run
// sets some options itself, to tie the steps together: see Run.
type RunOptions struct {
	Run    HeldOutOptions      `json:"run"`
	Train  train.Options       `json:"train"`
	LogZ   logz.FileOptions    `json:"logz"`
	Bounds train.BoundsOptions `json:"bounds"`
	Score  score.Options       `json:"score"`
}

// A runSection defines a section of a run file.
type runSection struct {
	name string
	// addFlags defines the command's flags on fs, bound to o's fields.
	addFlags func(o *RunOptions, fs *pflag.FlagSet)
	// byRun are the flags the run sets itself, and why.
	byRun map[string]string
	// paths are the flags whose values are paths, taken relative to the
	// run file's directory.
	paths []string
}

var runSections = []runSection{
	{
		name:     SectionRun,
		addFlags: func(o *RunOptions, fs *pflag.FlagSet) { o.Run.AddFlags(fs) },
		paths:    []string{"test"},
	},
	{
		name:     SectionTrain,
		addFlags: func(o *RunOptions, fs *pflag.FlagSet) { o.Train.AddFlags(fs) },
		paths:    []string{"data", "energy", "generator", "encoder", "out"},
	},
	{
		name:     SectionLogZ,
		addFlags: func(o *RunOptions, fs *pflag.FlagSet) { o.LogZ.AddFlags(fs) },
		byRun: map[string]string{
			"model":     "the run estimates log Z of the energy it trains",
			"data":      "the run takes the training data",
			"data-rows": "the run takes the training data",
			"generator": "the run sets the box from the training data",
			"output":    "the run writes log Z into the energy it trains",
		},
		paths: []string{"ort-lib"},
	},
	{
		name:     SectionBounds,
		addFlags: func(o *RunOptions, fs *pflag.FlagSet) { o.Bounds.AddFlags(fs) },
		byRun: map[string]string{
			"energy":    "the run evaluates the models it trains",
			"generator": "the run evaluates the models it trains",
			"encoder":   "the run exports no encoder",
			"data":      "the run takes the held-out rows (run: test, test-rows, test-fraction)",
			"data-rows": "the run takes the held-out rows (run: test, test-rows, test-fraction)",
			"json":      "the run prints its own report",
		},
	},
	{
		name:     SectionScore,
		addFlags: func(o *RunOptions, fs *pflag.FlagSet) { o.Score.AddFlags(fs) },
		byRun:    map[string]string{"model": "the run scores with the energy it trains"},
		paths:    []string{"input", "output", "ort-lib"},
	},
}

func findSection(name string) (runSection, bool) {
	for _, s := range runSections {
		if s.name == name {
			return s, true
		}
	}
	return runSection{}, false
}

// sectionNames lists the sections for messages: "run, train, ... or score".
func sectionNames() string {
	names := make([]string, len(runSections))
	for i, s := range runSections {
		names[i] = s.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// A RunConfig holds RunOptions and, for each section, the flag set that
// sets them: the flags of the command the section is named after, defined
// by the same AddFlags, with the same defaults. A run file's options and
// command-line overrides go through FlagSet.Set, so that they are parsed
// and checked exactly as the commands' flags.
type RunConfig struct {
	Options RunOptions
	sets    map[string]*pflag.FlagSet
}

// NewRunConfig returns a RunConfig holding the flag defaults of every
// command.
func NewRunConfig() *RunConfig {
	c := &RunConfig{sets: map[string]*pflag.FlagSet{}}
	c.Options.Train = train.DefaultOptions()
	c.Options.Bounds = train.DefaultBoundsOptions()
	for _, s := range runSections {
		fs := pflag.NewFlagSet("ebmpipe "+s.name, pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.SortFlags = false
		s.addFlags(&c.Options, fs)
		c.sets[s.name] = fs
	}
	return c
}

// FlagSet returns the flag set of a section, or nil if there is no such
// section. The flags of section "run" are those of ebmpipe run: a command
// can add them to its own flag set, so that they are set from its
// command line.
func (c *RunConfig) FlagSet(section string) *pflag.FlagSet { return c.sets[section] }

// Apply sets the options of the run file f. Relative paths are taken from
// f.Dir. Options already set (such as flags of section "run" given on the
// command line) are kept. Errors are *RunFileError naming the line.
func (c *RunConfig) Apply(f *RunFile) error {
	for _, sec := range f.Sections {
		s, ok := findSection(sec.Name)
		if !ok {
			return f.errorf(sec.Line, "unknown section %q (want %s)", sec.Name, sectionNames())
		}
		for _, opt := range sec.Options {
			if fl := c.sets[s.name].Lookup(opt.Key); fl != nil && fl.Changed {
				continue
			}
			v := opt.Value
			if slices.Contains(s.paths, opt.Key) {
				v = resolvePath(f.Dir, v)
			}
			if err := c.set(s, opt.Key, v); err != nil {
				return f.errorf(opt.Line, "%v", err)
			}
		}
	}
	return nil
}

// resolvePath takes a relative path value from dir. toy: and mlp: specs are
// not paths.
func resolvePath(dir, v string) string {
	if dir == "" || v == "" || filepath.IsAbs(v) || strings.HasPrefix(v, "toy:") || strings.HasPrefix(v, "mlp:") {
		return v
	}
	return filepath.Join(dir, v)
}

// Set sets option key of a section to value, as its flag would. Paths
// are taken as they are.
func (c *RunConfig) Set(section, key, value string) error {
	s, ok := findSection(section)
	if !ok {
		return fmt.Errorf("unknown section %q (want %s)", section, sectionNames())
	}
	return c.set(s, key, value)
}

// SetOption sets an option given as SECTION.KEY=VALUE, such as
// "train.steps=100" (the --set flag of ebmpipe run).
func (c *RunConfig) SetOption(spec string) error {
	name, value, ok := strings.Cut(spec, "=")
	section, key, dot := strings.Cut(name, ".")
	if !ok || !dot || section == "" || key == "" {
		return fmt.Errorf("%q: want SECTION.OPTION=VALUE, such as train.steps=100", spec)
	}
	return c.Set(section, key, value)
}

func (c *RunConfig) set(s runSection, key, value string) error {
	fs := c.sets[s.name]
	if fs.Lookup(key) == nil {
		return fmt.Errorf("unknown option %q for %s (see ebmpipe %s --help)", key, s.name, s.name)
	}
	if why, ok := s.byRun[key]; ok {
		return fmt.Errorf("%s: %q is set by the run: %s", s.name, key, why)
	}
	if err := fs.Set(key, value); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
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
	Bounds  *train.BoundsReport
	// Lower and Upper are the training bounds (Options.Train.Lower and
	// Upper) evaluated on the held-out rows: the bracket
	// Lower ≤ NLL ≤ Upper, in nats per example. A bound that could not
	// be evaluated (mi without an encoder, the surrogate gp0, none) has a
	// NaN value.
	Lower, Upper train.BoundValue
	// Test is the model's held-out log-likelihood, the mean of
	// log p(x) = −E(x) − log Z over the held-out rows.
	Test evaluate.LogLik
	// Gaussian is the held-out log-likelihood of a single Gaussian (full
	// covariance) fitted to the training rows, a baseline.
	Gaussian evaluate.LogLik
	// Engine is the engine that scored the held-out rows: ort or go.
	Engine string
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
//  4. The bounds (train.EvaluateBounds) of the models on the held-out
//     rows; Lower and Upper of the result are the training pair.
//  5. The held-out rows scored (Score with the score section's engine
//     settings) into OUT/test_scores.csv; the test log-likelihood is the
//     mean of their log densities, compared with a single Gaussian fitted
//     to the training rows.
//  6. The score section's Input, if given, scored into its Output.
//  7. Pictures of the models and the training curves (PlotTrained) in
//     OUT.
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
	test, tr, err := o.prepare(h, res)
	if err != nil {
		return nil, err
	}
	for _, n := range tr.Data().Notes {
		note(n)
	}
	if res.Train, err = tr.Run(ctx); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, res.Train.Energy, res.Train.Generator,
		filepath.Join(out, train.MetricsFile), filepath.Join(out, train.CheckpointDir)+string(filepath.Separator))
	trainRows := tr.Data().Raw()

	// 3. log Z.
	h.stage("estimating log Z")
	o.LogZ.Model, o.LogZ.Data, o.LogZ.DataRows = res.Train.Energy, o.Train.Data, o.Train.DataRows
	o.LogZ.Generator, o.LogZ.Output = "", ""
	o.LogZ.Notice = h.Notice
	if res.LogZ, _, err = logz.EstimateFile(o.LogZ); err != nil {
		return nil, fmt.Errorf("log Z: %w", err)
	}
	for _, n := range res.LogZ.Notes {
		note("log Z: " + n)
	}

	// 4. Bounds on the held-out rows; 5. test log-likelihood.
	if err := o.evaluate(ctx, h, res, test, trainRows, note); err != nil {
		return nil, err
	}

	// 6. The score section's file.
	if o.Score.Input != "" {
		h.stage("scoring %s", o.Score.Input)
		so := o.Score
		so.Model = res.Train.Energy
		so.Notice = h.Notice
		st, err := score.ScoreContext(ctx, so)
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
	files, err := plot.Trained(out, tr.Data(), note)
	res.Files = append(res.Files, files...)
	if err != nil {
		note(fmt.Sprintf("pictures: %v", err))
	}

	res.Options = o
	res.Duration = time.Since(start)
	return res, nil
}

// prepare does the first steps of Run: it reads or draws the held-out rows,
// writes them (and the training part of a split file, which o then trains
// on), and makes the trainer. If it fails, it removes what it wrote.
func (o *RunOptions) prepare(h RunHooks, res *RunResult) (test *data.Dataset, tr *train.Trainer, err error) {
	out := o.Train.Out
	testPath := filepath.Join(out, TestFile)

	// 1. Held-out rows, and the training part of a split file. Nothing
	// is written over a run, and nothing is left behind if training
	// cannot start.
	if !o.Train.Resume {
		for _, f := range []string{TestFile, TrainSplitFile, TestScoresFile} {
			if p := filepath.Join(out, f); exists(p) {
				return nil, nil, fmt.Errorf("--out %s already holds a run (%s); choose another --out", out, p)
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
		return nil, nil, fmt.Errorf("--out: %w", err)
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
	tr, err = train.NewTrainer(o.Train, train.Hooks{Progress: h.Progress})
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
	if res.Bounds, err = train.EvaluateBounds(o.Bounds); err != nil {
		return fmt.Errorf("bounds: %w", err)
	}
	res.Lower, res.Upper = evaluate.BracketBound(res.Bounds.Lower, o.Train.Lower, "lower", note), evaluate.BracketBound(res.Bounds.Upper, o.Train.Upper, "upper", note)

	// 5. Test log-likelihood.
	h.stage("scoring the held-out rows")
	so := o.Score
	so.Model, so.Input, so.Output = res.Train.Energy, testPath, filepath.Join(out, TestScoresFile)
	so.Raw, so.SkipBadRows, so.Notice, so.Progress = false, false, h.Notice, nil
	st, err := score.ScoreContext(ctx, so)
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

// Check reports the first invalid option of any section, naming the
// section; the options the run sets are not checked.
func (o *RunOptions) Check() error {
	if err := o.Run.Check(); err != nil {
		return fmt.Errorf("%s: %w", SectionRun, err)
	}
	if err := o.Train.Check(); err != nil {
		return fmt.Errorf("%s: %s", SectionTrain, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	lz := o.LogZ
	lz.Model, lz.Data, lz.DataRows = TestFile, "", 0
	if err := lz.Check(); err != nil {
		return fmt.Errorf("%s: %w", SectionLogZ, err)
	}
	b := o.Bounds
	b.Energy, b.Generator, b.Data, b.DataRows = TestFile, TestFile, TestFile, 0
	if err := b.Check(); err != nil {
		return fmt.Errorf("%s: %s", SectionBounds, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	s := o.Score
	switch {
	case s.Input == "" && s.Output != "":
		return fmt.Errorf("%s: --output needs --input", SectionScore)
	case s.Input == "":
		s.Input, s.Output = TestFile, TestScoresFile
	}
	s.Model = TestFile
	if err := s.Check(); err != nil {
		return fmt.Errorf("%s: %w", SectionScore, err)
	}
	return nil
}

// heldOut returns the held-out rows, as read, and, when a training file
// is split, its training part.
func (o *RunOptions) heldOut() (test, trainPart *data.Dataset, err error) {
	seed := o.Train.Seed + 1
	spec, rows, flag := o.Run.Test, o.Run.TestRows, "--test"
	if spec == "" && strings.HasPrefix(o.Train.Data, "toy:") {
		spec, flag = o.Train.Data, "--data"
	}
	if spec != "" {
		if rows == 0 && strings.HasPrefix(spec, "toy:") {
			rows = defaultTestRows
		}
		d, err := data.LoadData(spec, rows, seed)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", flag, err)
		}
		return d, nil, nil
	}
	all, err := data.LoadData(o.Train.Data, o.Train.DataRows, o.Train.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("--data: %w", err)
	}
	trainPart, test = all.Split(o.Run.TestFraction, o.Train.Seed)
	if test.Rows < 2 || trainPart.Rows < 2 {
		return nil, nil, fmt.Errorf("--test-fraction %g of the %d rows of %s leaves %d to train on and %d held out; need at least 2 of each",
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
	if r.Scored != nil {
		fmt.Fprintf(&b, "scored %d rows of %s into %s\n", r.Scored.Rows, o.Score.Input, o.Score.Output)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintln(&b, "\nfiles written:")
	for _, f := range r.Files[1:] {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatBound(v train.BoundValue) string {
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
