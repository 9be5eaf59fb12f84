package fielderr

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func flag(field string) string {
	return "--" + strings.ToLower(strings.ReplaceAll(field, "Estimate.", ""))
}

func TestErrorf(t *testing.T) {
	cases := []struct {
		name          string
		err           *Error
		text, flagged string
		fields        []string
	}{
		{"required", Errorf("{Model} is required"), "Model is required", "--model is required", []string{"Model"}},
		{"value", Errorf("{Steps} %d: must be at least 1", 0), "Steps 0: must be at least 1", "--steps 0: must be at least 1", []string{"Steps"}},
		{"two-fields", Errorf("{Lower} mi needs {Encoder}"), "Lower mi needs Encoder", "--lower mi needs --encoder", []string{"Lower", "Encoder"}},
		{"nested", Errorf("{Estimate.Samples} %d", 1), "Estimate.Samples 1", "--samples 1", []string{"Estimate.Samples"}},
		{"braces-in-value", Errorf("{Data} %q: bad", "{Data}"), `Data "{Data}": bad`, `--data "{Data}": bad`, []string{"Data"}},
		{"lower-case-braces", Errorf("{x} is not a field"), "{x} is not a field", "{x} is not a field", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.text {
				t.Errorf("Error() = %q, want %q", got, c.text)
			}
			if got := c.err.Format(flag); got != c.flagged {
				t.Errorf("Format = %q, want %q", got, c.flagged)
			}
			if got := c.err.Fields(); fmt.Sprint(got) != fmt.Sprint(c.fields) {
				t.Errorf("Fields() = %q, want %q", got, c.fields)
			}
		})
	}
}

func TestUnwrap(t *testing.T) {
	err := Errorf("{Data}: %w", fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not wrap fs.ErrNotExist", err)
	}
	if got := Errorf("{Data}").Unwrap(); got != nil {
		t.Errorf("Unwrap of an error wrapping none = %v", got)
	}
}

func TestRename(t *testing.T) {
	kind := Errorf("%s: ebmpipe.kind is %q, but {Energy} takes an energy model", "g.onnx", "generator")
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("Steps is not a field error"), "Steps is not a field error"},
		{"one", Errorf("{Steps} %d: must be at least 1", 0), "--steps 0: must be at least 1"},
		{"wrapped", fmt.Errorf("train: %w", Errorf("{Steps} 0")), "train: --steps 0"},
		{"joined", errors.Join(Errorf("{Lower} %q", "svd"), Errorf("{Steps} 0")), "--lower \"svd\"\n--steps 0"},
		{"nested", Errorf("{Energy}: %w", kind), `--energy: g.onnx: ebmpipe.kind is "generator", but --energy takes an energy model`},
		{"inside-text", fmt.Errorf("density.png: %w", kind), `density.png: g.onnx: ebmpipe.kind is "generator", but --energy takes an energy model`},
		{"unknown-field", Errorf("{Other} x"), "Other x"},
	}
	name := func(field string) string {
		if field == "Other" {
			return ""
		}
		return flag(field)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Rename(c.err, name); got != c.want {
				t.Errorf("Rename = %q, want %q", got, c.want)
			}
		})
	}
}

func TestNote(t *testing.T) {
	cases := []struct {
		name, note, plain, flagged string
	}{
		{"plain", Note(errors.New("no field")), "no field", "no field"},
		{"notef", Notef("{Engine} auto: %v; using go", "x"), "Engine auto: x; using go", "--engine auto: x; using go"},
		{"wrapped", Note(fmt.Errorf("model: %w", Errorf("use a larger {Estimate.GridSize}"))), "model: use a larger Estimate.GridSize", "model: use a larger --gridsize"},
		{"nested", Notef("{Engine} auto: %w", Errorf("name it with {ORTLib}")), "Engine auto: name it with ORTLib", "--engine auto: name it with --ortlib"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := RenameNote(c.note, nil); got != c.plain {
				t.Errorf("RenameNote(nil) = %q, want %q", got, c.plain)
			}
			if got := RenameNote(c.note, flag); got != c.flagged {
				t.Errorf("RenameNote(flag) = %q, want %q", got, c.flagged)
			}
		})
	}
}
