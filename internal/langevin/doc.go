// Package langevin moves points by steps of unadjusted Langevin dynamics.
//
// A step with step size η and noise scale s moves each point x by
//
//	x ← x − (η/2) ∇E(x) + s √η ξ,   ξ ~ N(0, I),
//
// whose chains approach the law ∝ e^{−E} as η → 0 when s = 1; with s = 0
// it is gradient descent on E with step η/2. The caller computes ∇E on
// its own engine: `ebmpipe sample` (pipeline/sample) on an ONNX energy's
// gradient program, the trainer's cooperative negatives (train) on the
// training tape. The step itself, written once here, is plain arithmetic
// on float64 slices.
package langevin
