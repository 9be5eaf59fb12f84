package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
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
	ColWall          = "wall_seconds"   // seconds of training so far, across resumes
)

// Metrics is one row of metrics.csv: the averages over a log interval of
// the values of every update in it (the energy's loss, KL bound from the
// energy steps; the rest from the generator steps, whose energies are those
// the generator met after the energy's updates).
type Metrics struct {
	Step   int
	Names  []string  // column names after "step"
	Values []float64 // parallel to Names; NaN where a value is not defined
}

// Get returns the value of the column name, or NaN.
func (m *Metrics) Get(name string) float64 {
	if m == nil {
		return math.NaN()
	}
	if i := slices.Index(m.Names, name); i >= 0 {
		return m.Values[i]
	}
	return math.NaN()
}

// accum sums the values of a log interval.
type accum struct {
	Sum   map[string]float64 `json:"sum"`
	Count map[string]int     `json:"count"`
}

func newAccum() *accum { return &accum{Sum: map[string]float64{}, Count: map[string]int{}} }

func (a *accum) add(name string, v float64) {
	a.Sum[name] += v
	a.Count[name]++
}

func (a *accum) mean(name string) float64 {
	if a.Count[name] == 0 {
		return math.NaN()
	}
	return a.Sum[name] / float64(a.Count[name])
}

func (a *accum) marshal() string {
	b, err := json.Marshal(a)
	if err != nil {
		// Sums of finite values only: training stops on non-finite ones.
		return "{}"
	}
	return string(b)
}

func unmarshalAccum(s string) (*accum, error) {
	a := newAccum()
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

// metricsFile appends rows to metrics.csv, flushed after every row.
type metricsFile struct {
	path    string
	columns []string // after step, before wall_seconds
	f       *os.File
	w       *bufio.Writer
	last    *Metrics // the last row kept when resuming, or nil
}

// openMetrics creates path with a header, or, when resuming, keeps its
// header and the rows up to step and appends after them. The columns of
// the file must be those given.
func openMetrics(path string, columns []string, resume bool, step int) (*metricsFile, error) {
	header := strings.Join(append(append([]string{ColStep}, columns...), ColWall), ",")
	var keep, lastLine []byte
	if resume {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		lines := bytes.SplitAfter(b, []byte("\n"))
		if len(b) > 0 {
			if got := strings.TrimSpace(string(lines[0])); got != header {
				return nil, fmt.Errorf("metrics: %s has columns %q, this run writes %q", path, got, header)
			}
		}
		for i, line := range lines {
			if i == 0 || !bytes.HasSuffix(line, []byte("\n")) {
				continue // header, or an incomplete last line
			}
			field, _, _ := bytes.Cut(line, []byte(","))
			s, err := strconv.Atoi(string(field))
			if err != nil || s > step {
				break
			}
			keep = append(keep, line...)
			lastLine = line
		}
	}
	data := append([]byte(header+"\n"), keep...)
	if err := writeFileAtomic(path, data); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &metricsFile{path: path, columns: columns, f: f, w: bufio.NewWriter(f), last: parseMetricsRow(lastLine, columns)}, nil
}

// parseMetricsRow parses a row of metrics.csv with the given columns
// between step and wall_seconds, or returns nil if line is not one. Empty
// fields are NaN.
func parseMetricsRow(line []byte, columns []string) *Metrics {
	fields := strings.Split(strings.TrimSpace(string(line)), ",")
	if len(fields) != len(columns)+2 {
		return nil
	}
	step, err := strconv.Atoi(fields[0])
	if err != nil {
		return nil
	}
	m := &Metrics{Step: step, Names: columns, Values: make([]float64, len(columns))}
	for i, f := range fields[1 : len(fields)-1] {
		m.Values[i] = math.NaN()
		if f == "" {
			continue
		}
		if m.Values[i], err = strconv.ParseFloat(f, 64); err != nil {
			return nil
		}
	}
	return m
}

func (m *metricsFile) write(row *Metrics, wall float64) error {
	m.w.WriteString(strconv.Itoa(row.Step))
	for _, v := range row.Values {
		m.w.WriteByte(',')
		if !math.IsNaN(v) {
			m.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	m.w.WriteByte(',')
	m.w.WriteString(strconv.FormatFloat(wall, 'f', 3, 64))
	m.w.WriteByte('\n')
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("metrics: %s: %w", m.path, err)
	}
	return nil
}

func (m *metricsFile) close() error {
	if m == nil || m.f == nil {
		return nil
	}
	err := m.w.Flush()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	m.f = nil
	if err != nil {
		return fmt.Errorf("metrics: %s: %w", m.path, err)
	}
	return nil
}
