package autodiff

import G "gorgonia.org/gorgonia"

// Derivative rules build every input's gradient, but a VJP keeps only those
// of the inputs its xs reach, and Gorgonia's Grad only those on the way to
// the parameters: the weight gradients of an input-gradient VJP (a matrix
// product per layer) and the input gradients of a parameter gradient are
// built, never used, and would still run. Nodes made inside VJP and
// ParamGrads are internal — the caller never sees them — and an internal
// node no live node consumes is dead: NewMachine marks it, and its
// primOp skips the kernel.

// markExternal records n as seen by the tape's user, if no derivative is
// being built.
func (t *Tape) markExternal(n *Node) {
	if t.internal > 0 || n == nil {
		return
	}
	if t.external == nil {
		t.external = make(map[*Node]bool)
	}
	t.external[n] = true
}

// markDead sets the dead flag of each primOp: internal nodes whose
// consumers are all dead (or that have none). Gorgonia's own nodes (the
// gradient sums of Grad) are judged the same way, so that what only they
// read can die, but they always run.
func (t *Tape) markDead() {
	sorted, err := G.Sort(t.g) // consumers before their inputs
	if err != nil {
		return // leave every node live
	}
	dead := make(map[*G.Node]bool, len(sorted))
	for _, gn := range sorted {
		if gn.Op() == nil {
			continue // a leaf
		}
		d := !t.external[wrap(gn)]
		if d {
			it := t.g.To(gn.ID())
			for it.Next() {
				if !dead[it.Node().(*G.Node)] {
					d = false
					break
				}
			}
		}
		dead[gn] = d
		if op, ok := gn.Op().(*primOp); ok {
			op.dead = d
		}
	}
}
