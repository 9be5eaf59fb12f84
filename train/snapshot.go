package train

import (
	"context"
	"encoding/json"
	"fmt"
)

// ExportCheckpoint writes the models of the checkpoint file at path, as
// Trainer.Export would have written them at that iteration, to
// dir/energy.onnx and dir/generator.onnx (with Options.EMA, the averaged
// parameters). The run's options come from the checkpoint; h supplies
// bounds defined outside package bounds, as for the run itself. It
// returns the model paths and the checkpoint's iteration. ctx stops it as
// it stops NewTrainer.
func ExportCheckpoint(ctx context.Context, path, dir string, average bool, h Hooks) (energy, generator string, step int, err error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return "", "", 0, err
	}
	// The options' identity leaves out zero values (such as EMA 0, which
	// is not the default), so they are read onto zero options.
	var o Options
	if err := json.Unmarshal([]byte(c.Meta["options"]), &o); err != nil {
		return "", "", 0, fmt.Errorf("checkpoint %s: options: %w", path, err)
	}
	o.Steps, o.LogEvery, o.Out, o.Resume, o.Opset = max(c.Step, 1), 1, dir, false, DefaultOptions().Opset
	tr, err := NewTrainer(ctx, o, Hooks{Lower: h.Lower, Upper: h.Upper})
	if err != nil {
		return "", "", 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := tr.restore(c); err != nil {
		return "", "", 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if !average {
		tr.ema = nil
	}
	energy, generator, err = tr.Export(dir)
	return energy, generator, c.Step, err
}
