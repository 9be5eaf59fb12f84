package bounds

import (
	"fmt"
	"strings"
)

// LowerNames returns the names LowerByName accepts.
func LowerNames() []string { return []string{"jacobian", "jacobian-exact", "mi"} }

// UpperNames returns the names UpperByName accepts.
func UpperNames() []string { return []string{"gp", "gp0", "diffusion", "none"} }

// LowerByName returns a lower bound with its toy defaults: "jacobian"
// (d · log s_min by DefaultIterations Rayleigh–Ritz iterations),
// "jacobian-exact" (½ log det JᵀJ) or "mi" (mutual information).
func LowerByName(name string) (Lower, error) {
	switch name {
	case "jacobian":
		return NewJacobianEntropy(false), nil
	case "jacobian-exact":
		return NewJacobianEntropy(true), nil
	case "mi":
		return NewMutualInformationEntropy(), nil
	}
	return nil, fmt.Errorf("unknown lower bound %q (want one of %s)", name, strings.Join(LowerNames(), ", "))
}

// UpperByName returns an upper bound with its toy defaults: "gp" (tangent
// Fisher penalty), "gp0" (zero-centred gradient penalty baseline),
// "diffusion", or "none", for which it returns nil and no error.
func UpperByName(name string) (Upper, error) {
	switch name {
	case "gp":
		return NewGradientPenalty(false), nil
	case "gp0":
		return NewGradientPenalty(true), nil
	case "diffusion":
		return NewDiffusion(), nil
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown upper bound %q (want one of %s)", name, strings.Join(UpperNames(), ", "))
}
