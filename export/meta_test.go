package export_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/export"
	"github.com/ebmpipe/ebmpipe/onnx"
)

func tanhFixture(t *testing.T) *onnx.ModelProto {
	t.Helper()
	for _, f := range torchFixtures(t) {
		if f.Name == "energy_tanh" {
			return f.model
		}
	}
	t.Fatal("fixture energy_tanh is missing")
	return nil
}

func props(m *onnx.ModelProto) [][2]string {
	var out [][2]string
	for _, p := range m.GetMetadataProps() {
		out = append(out, [2]string{p.GetKey(), p.GetValue()})
	}
	return out
}

// TestMetaRoundTrip checks the metadata_props Model writes, in their
// documented format and order, and that ReadMeta reads back the Meta.
func TestMetaRoundTrip(t *testing.T) {
	meta := export.Meta{
		Kind:     export.KindEnergy,
		LogZ:     &export.LogZ{Value: -3.25, StdErr: 0.015625, Method: "ais"},
		Shift:    []float64{0.5, -1},
		Scale:    []float64{2, 0.1},
		Features: []string{"x1", `"quoted"`},
		Data:     "toy:moons",
		DataRows: 5000,
		Seed:     7,
		Extra:    map[string]string{"train.steps": "1000", "a": "first"},
	}
	m, err := export.Model(tanhFixture(t), nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"ebmpipe.kind", "energy"},
		{"ebmpipe.log_z", "-3.25"},
		{"ebmpipe.log_z_stderr", "0.015625"},
		{"ebmpipe.log_z_method", "ais"},
		{"ebmpipe.shift", "[0.5,-1]"},
		{"ebmpipe.scale", "[2,0.1]"},
		{"ebmpipe.features", `["x1","\"quoted\""]`},
		{"ebmpipe.data", "toy:moons"},
		{"ebmpipe.data_rows", "5000"},
		{"ebmpipe.seed", "7"},
		{"a", "first"},
		{"train.steps", "1000"},
	}
	if got := props(m); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata_props\n got %q\nwant %q", got, want)
	}
	got, err := export.ReadMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, meta) {
		t.Errorf("ReadMeta = %+v, want %+v", got, meta)
	}

	// A model without ebmpipe metadata reads as a zero Meta.
	if got, err := export.ReadMeta(tanhFixture(t)); err != nil || !reflect.DeepEqual(got, export.Meta{}) {
		t.Errorf("ReadMeta of a PyTorch export = %+v, %v; want a zero Meta", got, err)
	}
}

// TestSetLogZ checks that SetLogZ replaces an estimate in place, keeps
// the other entries and their order, and drops an empty method.
func TestSetLogZ(t *testing.T) {
	m, err := export.Model(tanhFixture(t), nil, export.Meta{Kind: export.KindEnergy, Extra: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	export.SetLogZ(m, export.LogZ{Value: 1.5, StdErr: 0.25, Method: "importance"})
	export.SetLogZ(m, export.LogZ{Value: 2.5, StdErr: 0.125, Method: "ais"})
	want := [][2]string{
		{"ebmpipe.kind", "energy"}, {"k", "v"},
		{"ebmpipe.log_z", "2.5"}, {"ebmpipe.log_z_stderr", "0.125"}, {"ebmpipe.log_z_method", "ais"},
	}
	if got := props(m); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata_props\n got %q\nwant %q", got, want)
	}
	export.SetLogZ(m, export.LogZ{Value: -7, StdErr: 0})
	meta, err := export.ReadMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := (export.LogZ{Value: -7}); meta.LogZ == nil || *meta.LogZ != want {
		t.Errorf("LogZ = %v, want %v", meta.LogZ, want)
	}
	if len(props(m)) != 4 {
		t.Errorf("metadata_props %q: the method entry was not removed", props(m))
	}
	if err := onnx.Validate(m); err != nil {
		t.Error(err)
	}
	export.SetLogZ(nil, export.LogZ{}) // must not panic
}

// TestReadMetaErrors checks that malformed metadata is an error naming
// the key.
func TestReadMetaErrors(t *testing.T) {
	cases := []struct {
		props [][2]string
		want  string
	}{
		{[][2]string{{"ebmpipe.log_z", "abc"}}, `ebmpipe.log_z = "abc": not a finite number`},
		{[][2]string{{"ebmpipe.log_z", "NaN"}}, `ebmpipe.log_z = "NaN"`},
		{[][2]string{{"ebmpipe.log_z", "1"}, {"ebmpipe.log_z_stderr", "+Inf"}}, `ebmpipe.log_z_stderr = "+Inf"`},
		{[][2]string{{"ebmpipe.log_z_stderr", "1"}}, "ebmpipe.log_z_stderr without ebmpipe.log_z"},
		{[][2]string{{"ebmpipe.shift", "[1,"}}, `ebmpipe.shift = "[1,"`},
		{[][2]string{{"ebmpipe.scale", `{"a":1}`}}, `ebmpipe.scale`},
		{[][2]string{{"ebmpipe.features", "[1]"}}, `ebmpipe.features`},
		{[][2]string{{"ebmpipe.seed", "1"}}, "ebmpipe.seed without ebmpipe.data"},
		{[][2]string{{"ebmpipe.data", "a.csv"}, {"ebmpipe.data_rows", "-1"}}, `ebmpipe.data_rows = "-1": not a count of rows`},
		{[][2]string{{"ebmpipe.data", "a.csv"}, {"ebmpipe.seed", "x"}}, `ebmpipe.seed = "x": not a seed`},
	}
	for _, c := range cases {
		m := &onnx.ModelProto{}
		for _, p := range c.props {
			m.MetadataProps = append(m.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(p[0]), Value: proto.String(p[1])})
		}
		if _, err := export.ReadMeta(m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadMeta(%q) error %v, want one containing %q", c.props, err, c.want)
		}
	}
}

// TestLogDetScale checks the log Z correction with the density it stands
// for: a standard normal energy over normalised data, E(u) = |u|²/2 with
// log Z = (d/2)·log 2π, has in raw space the density of N(shift,
// diag(scale²)), whose log density at x is known in closed form.
func TestLogDetScale(t *testing.T) {
	shift := []float64{1, -2, 0.5}
	scale := []float64{2, 0.5, -3}
	x := []float64{0.3, -1, 2}
	d := float64(len(x))
	energy := 0.0
	for i := range x {
		u := (x[i] - shift[i]) / scale[i]
		energy += u * u / 2
	}
	logZ := d/2*math.Log(2*math.Pi) + export.LogDetScale(scale)
	got := -energy - logZ
	want := 0.0
	for i := range x {
		s := math.Abs(scale[i])
		want += -0.5*math.Log(2*math.Pi) - math.Log(s) - (x[i]-shift[i])*(x[i]-shift[i])/(2*s*s)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("log density %v, want %v", got, want)
	}
}

// TestEmptyNormalisation checks that empty Shift, Scale and Features mean
// none, as nil ones do.
func TestEmptyNormalisation(t *testing.T) {
	m := tanhFixture(t)
	empty, err := export.Model(m, nil, export.Meta{Kind: export.KindEnergy, Shift: []float64{}, Scale: []float64{}, Features: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	none, err := export.Model(m, nil, export.Meta{Kind: export.KindEnergy})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(empty, none) {
		t.Error("empty normalisation slices export differently from nil ones")
	}
}
