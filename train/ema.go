package train

import (
	"fmt"
	"slices"
)

// emaPrefix names the averaged parameters in a checkpoint:
// "ema/energy/NAME" and so on.
const emaPrefix = "ema/"

// An ema keeps an exponential moving average of the parameters of every
// network: after each iteration t (counting from 1),
//
//	avg ← β_t·avg + (1 − β_t)·θ,   β_t = min(β, (1 + t)/(10 + t)),
//
// so that the average follows the parameters closely at first and then
// averages over about 1/(1 − β) iterations. Evaluation and export use the
// average (Options.EMA).
type ema struct {
	decay float64
	nets  []*network
	avg   [][][]float64 // per network, per parameter
	steps int           // updates taken
}

// newEMA starts an average of the networks' current values with decay β,
// or returns nil if β is 0 (no average).
func newEMA(decay float64, nets []*network) *ema {
	if decay == 0 {
		return nil
	}
	e := &ema{decay: decay, nets: nets}
	for _, n := range nets {
		e.avg = append(e.avg, cloneTensors(n.values))
	}
	return e
}

// update folds the networks' current values into the average.
func (e *ema) update() {
	if e == nil {
		return
	}
	e.steps++
	t := float64(e.steps)
	b := min(e.decay, (1+t)/(10+t))
	for i, n := range e.nets {
		for k, v := range n.values {
			a := e.avg[i][k]
			for j, x := range v {
				a[j] = b*a[j] + (1-b)*x
			}
		}
	}
}

// swap exchanges the networks' values with the average, in place, so that
// code reading the networks sees the average; a second swap undoes it.
func (e *ema) swap() {
	if e == nil {
		return
	}
	for i, n := range e.nets {
		for k := range n.values {
			n.values[k], e.avg[i][k] = e.avg[i][k], n.values[k]
		}
	}
}

// save adds the average to a checkpoint's parameters.
func (e *ema) save(c *Checkpoint) {
	if e == nil {
		return
	}
	for i, n := range e.nets {
		for k, p := range n.params {
			c.Params[emaPrefix+n.name+"/"+p.Name] = Tensor{Shape: slices.Clone(p.Shape), Data: slices.Clone(e.avg[i][k])}
		}
	}
	c.Meta["ema_steps"] = fmt.Sprint(e.steps)
}

// load restores the average from a checkpoint written by save.
func (e *ema) load(c *Checkpoint) error {
	if e == nil {
		return nil
	}
	for i, n := range e.nets {
		for k, p := range n.params {
			key := emaPrefix + n.name + "/" + p.Name
			t, ok := c.Params[key]
			if !ok {
				return fmt.Errorf("averaged parameter %s is missing", key)
			}
			if len(t.Data) != len(e.avg[i][k]) {
				return fmt.Errorf("averaged parameter %s has %d values, the network %d", key, len(t.Data), len(e.avg[i][k]))
			}
			copy(e.avg[i][k], t.Data)
		}
	}
	if _, err := fmt.Sscan(c.Meta["ema_steps"], &e.steps); err != nil {
		return fmt.Errorf("ema_steps %q: %w", c.Meta["ema_steps"], err)
	}
	return nil
}
