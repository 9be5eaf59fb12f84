package beamscore

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/ebmpipe/ebmpipe/onnx"
	"github.com/ebmpipe/ebmpipe/pipeline/engine"
	"github.com/ebmpipe/ebmpipe/pipeline/score"
)

// Run scores every row of the files matching o.Inputs on the Beam runner
// o.Runner and writes o.Output-00000-of-000NN.csv, one shard per input
// file, with the columns of score.Score. The shards, and the rejects
// file of o.SkipBadRows, are written to temporary files and moved into
// place only when the whole pipeline has succeeded; on failure they are
// removed. Without o.SkipBadRows a bad row fails the run with the
// message of the first one, in the order of the shards.
func Run(ctx context.Context, o Options) (Stats, error) {
	var st Stats
	if err := o.Check(); err != nil {
		return st, err
	}
	fn, err := newScoreFn(ctx, o, &st)
	if err != nil {
		return st, err
	}
	if st.Inputs, err = expand(ctx, o.Inputs); err != nil {
		return st, err
	}
	fn.Shards = len(st.Inputs)
	fn.RunID, err = runID()
	if err != nil {
		return st, err
	}
	rejectsTmp := tempName(o.Output+".rejects", fn.RunID)
	errorsTmp := tempName(o.Output+".errors", fn.RunID)

	p, s := beam.NewPipelineWithRoot()
	tasks := make([]FileTask, len(st.Inputs))
	for i, path := range st.Inputs {
		tasks[i] = FileTask{Index: i, Path: path}
	}
	files := beam.Reshuffle(s, beam.CreateList(s, tasks))
	bad := beam.ParDo(s, fn, files)
	beam.ParDo0(s, &rejectsFn{Rejects: rejectsTmp, Errors: errorsTmp}, beam.GroupByKey(s, beam.AddFixedKey(s, bad)))

	res, runErr := beam.Run(ctx, o.Runner, p)
	if res != nil {
		st.Rows, st.Rejected = counters(res)
	}
	temps := []string{rejectsTmp, errorsTmp}
	for i := range st.Inputs {
		temps = append(temps, tempName(shardName(o.Output, i, fn.Shards), fn.RunID))
	}
	if runErr != nil {
		removeAll(ctx, temps)
		return st, fmt.Errorf("beam %s runner: %s", o.Runner, beamCause(runErr))
	}
	if msg, ok := firstLine(ctx, errorsTmp); ok {
		removeAll(ctx, temps)
		return st, errors.New(msg)
	}
	msg, hasRejects := firstLine(ctx, rejectsTmp)
	if hasRejects && !o.SkipBadRows {
		removeAll(ctx, temps)
		// The reason is the last field: it quotes the text it cites,
		// tabs included, with %q.
		return st, errors.New(msg[strings.LastIndexByte(msg, '\t')+1:])
	}
	if !hasRejects {
		rejectsTmp = ""
	}
	return st, commit(ctx, o.Output, temps[2:], rejectsTmp, &st)
}

// beamCause returns the cause of a failed run, on one line: the error of
// the DoFn, without the runner's account of the bundle, if it can tell.
func beamCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, " failed:\n"); i >= 0 {
		msg = msg[i+len(" failed:\n"):]
	}
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
}

// newScoreFn loads the model, chooses the engine, checks that it runs the
// model, and returns the scoring DoFn of o.
func newScoreFn(ctx context.Context, o Options, st *Stats) (*scoreFn, error) {
	fsys, err := filesystem.New(ctx, o.Model)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	data, err := filesystem.Read(ctx, fsys, o.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	m, err := onnx.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	logZ, hasLogZ, err := score.ModelLogZ(m, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	newEngine, name, err := engine.Choose(engine.Choice{
		Engine: o.Engine, Device: o.Device, ORTLib: o.ORTLib, BatchSize: o.BatchSize, Notice: o.Notice,
	}, m, data, 2)
	if err != nil {
		return nil, err
	}
	// Fail here, not on every worker, if the engine cannot run the model.
	e, err := newEngine()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	e.Close()
	st.Engine = name
	return &scoreFn{
		Model: data, ModelName: o.Model, Engine: name, BatchSize: o.BatchSize,
		Device: o.Device, ORTLib: o.ORTLib, LogZ: logZ, HasLogZ: hasLogZ,
		SkipBadRows: o.SkipBadRows, Output: o.Output,
	}, nil
}

// expand returns the files matching patterns: each pattern's matches in
// sorted order, without repeats. A pattern that matches nothing is an
// error.
func expand(ctx context.Context, patterns []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, pat := range patterns {
		fsys, err := filesystem.New(ctx, pat)
		if err != nil {
			return nil, err
		}
		names, err := fsys.List(ctx, pat)
		fsys.Close()
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", pat, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("input %s: no file matches", pat)
		}
		slices.Sort(names)
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				files = append(files, n)
			}
		}
	}
	return files, nil
}

// runID returns a random name for the temporary files of a run.
func runID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// counters returns the rows scored and rejected from a run's metrics.
func counters(res beam.PipelineResult) (rows, rejected int64) {
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Namespace() != MetricsNamespace {
			continue
		}
		switch c.Name() {
		case MetricRows:
			rows += c.Result()
		case MetricRejected:
			rejected += c.Result()
		}
	}
	return rows, rejected
}

// firstLine returns the first line of the file at path, and whether the
// file exists and could be read.
func firstLine(ctx context.Context, path string) (string, bool) {
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return "", false
	}
	defer fsys.Close()
	r, err := fsys.OpenRead(ctx, path)
	if err != nil {
		return "", false
	}
	defer r.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", false
	}
	return strings.TrimSuffix(line, "\n"), true
}

// commit moves the temporary shards, and rejects file if not "", of a
// successful run into place.
func commit(ctx context.Context, prefix string, shards []string, rejects string, st *Stats) error {
	for i, tmp := range shards {
		target := shardName(prefix, i, len(shards))
		if err := rename(ctx, tmp, target); err != nil {
			removeAll(ctx, append(shards[i:], rejects))
			return fmt.Errorf("%s: %w", target, err)
		}
		st.Shards = append(st.Shards, target)
	}
	if rejects == "" {
		return nil
	}
	target := prefix + ".rejects"
	if err := rename(ctx, rejects, target); err != nil {
		removeAll(ctx, []string{rejects})
		return fmt.Errorf("%s: %w", target, err)
	}
	st.Rejects = target
	return nil
}

// rename moves the file from to path to.
func rename(ctx context.Context, from, to string) error {
	fsys, err := filesystem.New(ctx, from)
	if err != nil {
		return err
	}
	defer fsys.Close()
	return filesystem.Rename(ctx, fsys, from, to)
}

// removeAll removes what exists of paths, as well as it can: it is called
// on the way out of a failed run.
func removeAll(ctx context.Context, paths []string) {
	for _, p := range paths {
		fsys, err := filesystem.New(ctx, p)
		if err != nil {
			continue
		}
		if rm, ok := fsys.(filesystem.Remover); ok {
			rm.Remove(ctx, p)
		}
		fsys.Close()
	}
}
