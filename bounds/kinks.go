package bounds

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ebmpipe/ebmpipe/onnx"
)

// kinked lists the ONNX operator types whose derivative jumps somewhere
// (piecewise-linear activations, selections, rounding); Elu and Selu are
// handled by KinkedOps, since their kink depends on an attribute.
var kinked = []string{
	"Relu", "LeakyRelu", "PRelu", "ThresholdedRelu", "Abs", "Clip", "HardSigmoid", "HardSwish", "Shrink",
	"Max", "Min", "ReduceMax", "ReduceMin", "MaxPool", "GlobalMaxPool", "Where",
	"Sign", "Floor", "Ceil", "Round",
}

// KinkedOps returns the distinct operator types of graph g (and of its
// subgraphs) whose derivative jumps, sorted: Relu, LeakyRelu, PRelu, Abs,
// Clip, Max, Min, Where and the like, Elu with α ≠ 1 and Selu with α ≠ 1
// (slopes γα and γ at 0). A generator built from them is piecewise smooth
// (piecewise linear for PReLU/ReLU MLPs): log |det J| is piecewise
// constant and jumps across the pieces' boundaries, so its law q jumps
// there too. Pass the result as Nets.GeneratorKinks.
func KinkedOps(g *onnx.GraphProto) []string {
	var ops []string
	var walk func(g *onnx.GraphProto)
	walk = func(g *onnx.GraphProto) {
		for _, n := range g.GetNode() {
			op := n.GetOpType()
			switch {
			case slices.Contains(kinked, op):
				ops = append(ops, op)
			case (op == "Elu" || op == "Selu") && alpha(n) != 1:
				ops = append(ops, op)
			}
			for _, a := range n.GetAttribute() {
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	walk(g)
	slices.Sort(ops)
	return slices.Compact(ops)
}

// alpha returns the node's α attribute, or the operator's default (1 for
// Elu, 1.67326… for Selu).
func alpha(n *onnx.NodeProto) float32 {
	def := float32(1)
	if n.GetOpType() == "Selu" {
		def = 1.67326319217681884765625
	}
	return onnx.AttrFloat(n, "alpha", def)
}

// exactCondition labels a Fisher-type value with the exact generator
// score: a bound conditional on C, or no bound (surrogate) for a
// generator with kinks, or, if laplacian (the value uses ΔE), an energy
// with kinks.
func exactCondition(n Nets, c float64, energy string, laplacian bool) (surrogate bool, cond string) {
	switch {
	case len(n.GeneratorKinks) > 0:
		return true, kinkCondition(n.GeneratorKinks)
	case laplacian && len(n.EnergyKinks) > 0:
		return true, fmt.Sprintf("not a bound: the energy has operators whose derivative jumps (%s), so its Laplacian "+
			"has a part on the kinks that the value's Hessian–vector products leave out (the integration by parts "+
			"needs a twice-differentiable energy)", strings.Join(n.EnergyKinks, ", "))
	}
	return false, lsiCondition(c, energy)
}

// kinkCondition says why a Fisher-type value on a generator with the
// kinked operators ops is no bound.
func kinkCondition(ops []string) string {
	return fmt.Sprintf("not a bound: the generator has operators whose derivative jumps (%s), so log |det J| is piecewise "+
		"constant and q jumps across the boundaries of its pieces; the value is the Fisher divergence inside the pieces, "+
		"which leaves out those jumps and can be below KL(q ‖ p_θ)", strings.Join(ops, ", "))
}
