package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
	"github.com/ebmpipe/ebmpipe/onnx"
)

// Metadata keys of the metadata_props an exported model carries. Numbers
// are decimal floating-point strings (strconv.FormatFloat with 'g' and the
// shortest exact representation); lists are JSON arrays.
const (
	// MetaKind is "energy" or "generator".
	MetaKind = "ebmpipe.kind"
	// MetaLogZ is the log normalising constant of an energy model: log p(x)
	// = −E(x) − log Z, for the raw inputs the exported model takes.
	MetaLogZ = "ebmpipe.log_z"
	// MetaLogZStdErr is the standard error of the log Z estimate.
	MetaLogZStdErr = "ebmpipe.log_z_stderr"
	// MetaLogZMethod names how log Z was estimated (free text, such as
	// "ais" or "importance").
	MetaLogZMethod = "ebmpipe.log_z_method"
	// MetaShift and MetaScale are the per-feature normalisation used in
	// training, x_train = (x − shift)/scale, as JSON arrays of numbers. They
	// are informational: the exported graph already applies them.
	MetaShift = "ebmpipe.shift"
	MetaScale = "ebmpipe.scale"
	// MetaFeatures names the input features, as a JSON array of strings.
	MetaFeatures = "ebmpipe.features"
	// MetaData names the training data ("toy:NAME" or the row file as
	// training was given it), MetaDataRows the rows drawn from a toy set
	// or read from the file (0: all) and MetaSeed the training seed, which
	// draws the same toy rows again. They are written only with MetaData.
	MetaData     = "ebmpipe.data"
	MetaDataRows = "ebmpipe.data_rows"
	MetaSeed     = "ebmpipe.seed"
)

// Kinds of model.
const (
	KindEnergy    = "energy"
	KindGenerator = "generator"
)

// reservedKeys are the keys Meta's fields own, in the order they are
// written.
var reservedKeys = []string{MetaKind, MetaLogZ, MetaLogZStdErr, MetaLogZMethod, MetaShift, MetaScale, MetaFeatures, MetaData, MetaDataRows, MetaSeed}

// Meta is what an exported model carries in metadata_props.
type Meta struct {
	Kind string // KindEnergy or KindGenerator
	LogZ *LogZ  // nil when unknown
	// Shift and Scale are the per-feature data normalisation used in
	// training, x_train = (x − Shift)/Scale, nil (or empty) if none; either
	// may be given alone. Each has one
	// value per element of a data row (the input row of an energy model,
	// the output row of a generator).
	Shift, Scale []float64
	Features     []string // names of the features of a data row, nil if unknown
	// Data is the training data, as training was given it ("" if
	// unknown), DataRows the rows drawn or read (0: all) and Seed the
	// training seed: with them, the training rows can be loaded again.
	Data     string
	DataRows int
	Seed     uint64
	// Extra holds any other metadata, written as it is. Its keys must not
	// be those of the fields above.
	Extra map[string]string
}

// LogZ is an estimate of the log normalising constant of an energy model.
type LogZ struct {
	Value, StdErr float64
	Method        string
}

// String formats z as "VALUE ± STDERR (METHOD)".
func (z LogZ) String() string {
	s := formatFloat(z.Value) + " ± " + formatFloat(z.StdErr)
	if z.Method != "" {
		s += " (" + z.Method + ")"
	}
	return s
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (z LogZ) check() error {
	switch {
	case math.IsNaN(z.Value) || math.IsInf(z.Value, 0):
		return fmt.Errorf("log Z %v is not finite", z.Value)
	case math.IsNaN(z.StdErr) || math.IsInf(z.StdErr, 0) || z.StdErr < 0:
		return fmt.Errorf("log Z standard error %v is not a finite non-negative number", z.StdErr)
	}
	return nil
}

// check validates the fields of meta that do not depend on a graph.
func (meta Meta) check() error {
	switch meta.Kind {
	case KindEnergy, KindGenerator:
	default:
		return fmt.Errorf("kind %q: want %q or %q", meta.Kind, KindEnergy, KindGenerator)
	}
	if meta.LogZ != nil {
		if meta.Kind != KindEnergy {
			return fmt.Errorf("a %s model has no log Z", meta.Kind)
		}
		if err := meta.LogZ.check(); err != nil {
			return err
		}
	}
	for i, v := range meta.Shift {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("shift[%d] = %v is not finite", i, v)
		}
	}
	for i, v := range meta.Scale {
		if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
			return fmt.Errorf("scale[%d] = %v is not a finite non-zero number", i, v)
		}
	}
	for k := range meta.Extra {
		if slices.Contains(reservedKeys, k) {
			return fmt.Errorf("extra metadata key %q is reserved for a Meta field", k)
		}
	}
	if meta.DataRows < 0 {
		return fmt.Errorf("data rows %d: must be at least 0", meta.DataRows)
	}
	if meta.Data == "" && (meta.DataRows != 0 || meta.Seed != 0) {
		return errors.New("data rows or seed without the data")
	}
	return nil
}

// props returns meta as metadata_props: the fields' keys in a fixed order,
// then Extra sorted by key.
func (meta Meta) props() []*onnx.StringStringEntryProto {
	var out []*onnx.StringStringEntryProto
	add := func(k, v string) {
		out = append(out, &onnx.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)})
	}
	add(MetaKind, meta.Kind)
	if z := meta.LogZ; z != nil {
		add(MetaLogZ, formatFloat(z.Value))
		add(MetaLogZStdErr, formatFloat(z.StdErr))
		if z.Method != "" {
			add(MetaLogZMethod, z.Method)
		}
	}
	if len(meta.Shift) > 0 {
		add(MetaShift, jsonString(meta.Shift))
	}
	if len(meta.Scale) > 0 {
		add(MetaScale, jsonString(meta.Scale))
	}
	if len(meta.Features) > 0 {
		add(MetaFeatures, jsonString(meta.Features))
	}
	if meta.Data != "" {
		add(MetaData, meta.Data)
		add(MetaDataRows, strconv.Itoa(meta.DataRows))
		add(MetaSeed, strconv.FormatUint(meta.Seed, 10))
	}
	keys := make([]string, 0, len(meta.Extra))
	for k := range meta.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k, meta.Extra[k])
	}
	return out
}

// jsonString encodes finite numbers or strings, which cannot fail.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("export: " + err.Error()) // unreachable: checked finite numbers and strings
	}
	return string(b)
}

// ReadMeta returns the metadata of m. Keys other than the Meta fields' go
// to Extra (nil if there are none). A model without ebmpipe metadata gives
// a zero Meta; malformed values are errors naming the key.
func ReadMeta(m *onnx.ModelProto) (Meta, error) {
	var meta Meta
	props := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		props[p.GetKey()] = p.GetValue()
	}
	meta.Kind = props[MetaKind]
	if s, ok := props[MetaLogZ]; ok {
		z := &LogZ{Method: props[MetaLogZMethod]}
		var err error
		if z.Value, err = parseFloat(MetaLogZ, s); err != nil {
			return Meta{}, err
		}
		if s, ok := props[MetaLogZStdErr]; ok {
			if z.StdErr, err = parseFloat(MetaLogZStdErr, s); err != nil {
				return Meta{}, err
			}
		}
		meta.LogZ = z
	} else {
		for _, k := range []string{MetaLogZStdErr, MetaLogZMethod} {
			if _, ok := props[k]; ok {
				return Meta{}, fmt.Errorf("export: metadata %s without %s", k, MetaLogZ)
			}
		}
	}
	for _, f := range []struct {
		key string
		dst any
	}{{MetaShift, &meta.Shift}, {MetaScale, &meta.Scale}, {MetaFeatures, &meta.Features}} {
		s, ok := props[f.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(s), f.dst); err != nil {
			return Meta{}, fmt.Errorf("export: metadata %s = %q: %w", f.key, s, err)
		}
	}
	if err := meta.readData(props); err != nil {
		return Meta{}, err
	}
	for k, v := range props {
		if slices.Contains(reservedKeys, k) {
			continue
		}
		if meta.Extra == nil {
			meta.Extra = map[string]string{}
		}
		meta.Extra[k] = v
	}
	return meta, nil
}

// readData sets Data, DataRows and Seed from props.
func (meta *Meta) readData(props map[string]string) error {
	d, ok := props[MetaData]
	if !ok {
		for _, k := range []string{MetaDataRows, MetaSeed} {
			if _, ok := props[k]; ok {
				return fmt.Errorf("export: metadata %s without %s", k, MetaData)
			}
		}
		return nil
	}
	meta.Data = d
	if s, ok := props[MetaDataRows]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("export: metadata %s = %q: not a count of rows", MetaDataRows, s)
		}
		meta.DataRows = n
	}
	if s, ok := props[MetaSeed]; ok {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("export: metadata %s = %q: not a seed", MetaSeed, s)
		}
		meta.Seed = v
	}
	return nil
}

func parseFloat(key, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("export: metadata %s = %q: not a finite number", key, s)
	}
	return v, nil
}

// SetLogZ records z in m's metadata in place, replacing any earlier
// estimate and keeping every other entry and their order. An empty
// z.Method removes the method entry. SetLogZ does not check z: a NaN or
// infinite value is written as it is, and ReadMeta then rejects it.
func SetLogZ(m *onnx.ModelProto, z LogZ) {
	if m == nil {
		return
	}
	set := func(k, v string) {
		for _, p := range m.MetadataProps {
			if p.GetKey() == k {
				p.Value = proto.String(v)
				return
			}
		}
		m.MetadataProps = append(m.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)})
	}
	set(MetaLogZ, formatFloat(z.Value))
	set(MetaLogZStdErr, formatFloat(z.StdErr))
	if z.Method != "" {
		set(MetaLogZMethod, z.Method)
		return
	}
	m.MetadataProps = slices.DeleteFunc(m.MetadataProps, func(p *onnx.StringStringEntryProto) bool {
		return p.GetKey() == MetaLogZMethod
	})
}

// LoadKind loads the ONNX model at path and checks that its ebmpipe.kind
// metadata, if it has any, is kind (KindEnergy or KindGenerator); field
// names the option field that gave path (such as "Energy"), for the
// error, a *fielderr.Error.
func LoadKind(path, kind, field string) (*onnx.ModelProto, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	for _, p := range m.GetMetadataProps() {
		if p.GetKey() != MetaKind || p.GetValue() == kind {
			continue
		}
		article := "a"
		if strings.ContainsRune("aeiou", rune(kind[0])) {
			article = "an"
		}
		return nil, fielderr.Errorf("%s: %s is %q, but {"+field+"} takes %s %s model", path, MetaKind, p.GetValue(), article, kind)
	}
	return m, nil
}
