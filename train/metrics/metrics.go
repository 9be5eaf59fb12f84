package metrics

import (
	"encoding/json"
	"math"
	"slices"
)

// Metrics columns, in the order of metrics.csv. Extra diagnostics of the
// bounds (other than s_min) follow, sorted by name, then wall_seconds.
const (
	ColStep          = "step"
	ColLossEnergy    = "loss_energy"    // the energy's training loss
	ColLossGenerator = "loss_generator" // the generator's training loss
	ColLower         = "lower_bound"    // L_low = mean E(data) − mean E(G(z)) + H estimate
	ColUpper         = "upper_bound"    // L_up = L_low + KL bound (empty without an upper bound)
	ColEntropy       = "entropy"        // the lower bound's estimate of H(q)
	ColKL            = "kl_bound"       // the upper bound's bound on KL(q ‖ p)
	ColSMin          = "s_min"          // smallest singular value of the generator's Jacobian, if estimated
	ColEnergyData    = "energy_data"    // mean energy of the data batch
	ColEnergySamples = "energy_samples" // mean energy of the generator's samples
	ColBracketLower  = "bracket_lower"  // 95 % lower limit of the certified bracket (with bracket measurements on; empty unless certified)
	ColBracketUpper  = "bracket_upper"  // 95 % upper limit of the certified bracket
	ColWall          = "wall_seconds"   // seconds of training so far, across resumes
)

// Row is one row of metrics.csv: the averages over a log interval of
// the values of every update in it (the energy's loss, KL bound from the
// energy steps; the rest from the generator steps, whose energies are those
// the generator met after the energy's updates).
type Row struct {
	Step   int
	Names  []string  // column names after "step"
	Values []float64 // parallel to Names; NaN where a value is not defined
}

// Get returns the value of the column name, or NaN.
func (m *Row) Get(name string) float64 {
	if m == nil {
		return math.NaN()
	}
	if i := slices.Index(m.Names, name); i >= 0 {
		return m.Values[i]
	}
	return math.NaN()
}

// Accum sums the values of a log interval, for the means of a Row.
type Accum struct {
	Sum   map[string]float64 `json:"sum"`
	Count map[string]int     `json:"count"`
}

// NewAccum returns an empty Accum.
func NewAccum() *Accum { return &Accum{Sum: map[string]float64{}, Count: map[string]int{}} }

// Add adds v to the values of column name.
func (a *Accum) Add(name string, v float64) {
	a.Sum[name] += v
	a.Count[name]++
}

// Mean returns the mean of the values of column name, or NaN if it has
// none.
func (a *Accum) Mean(name string) float64 {
	if a.Count[name] == 0 {
		return math.NaN()
	}
	return a.Sum[name] / float64(a.Count[name])
}

// Marshal returns a, in JSON, for UnmarshalAccum.
func (a *Accum) Marshal() string {
	b, err := json.Marshal(a)
	if err != nil {
		// Sums of finite values only: training stops on non-finite ones.
		return "{}"
	}
	return string(b)
}

// UnmarshalAccum returns the Accum that Marshal returned as s; an empty s
// is an empty Accum.
func UnmarshalAccum(s string) (*Accum, error) {
	a := NewAccum()
	if s == "" {
		return a, nil
	}
	if err := json.Unmarshal([]byte(s), a); err != nil {
		return nil, err
	}
	if a.Sum == nil {
		a.Sum = map[string]float64{}
	}
	if a.Count == nil {
		a.Count = map[string]int{}
	}
	return a, nil
}
