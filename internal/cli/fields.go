package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/internal/fielderr"
)

// fieldKey is the annotation of a flag holding the path of the field it
// sets, such as "Steps" or "Estimate.GridSize" (see fielderr).
const fieldKey = "ebmpipe-field"

// bindFields records on each flag of fs that sets a field of the struct o
// points to the field's name, after prefix, unless one is recorded.
func bindFields(fs *pflag.FlagSet, o any, prefix string) {
	for name, f := range flagFields(fs, o) {
		if _, ok := fs.Lookup(name).Annotations[fieldKey]; !ok {
			fs.SetAnnotation(name, fieldKey, []string{prefix + f.Name})
		}
	}
	addLimits(fs)
}

// flagFields returns, by flag name, the field of the struct o points to
// that each flag of fs sets (fields of embedded structs too). A flag's
// value points at the field it sets (pflag's own values, and those of
// this package through target).
func flagFields(fs *pflag.FlagSet, o any) map[string]reflect.StructField {
	v := reflect.ValueOf(o).Elem()
	fields := map[uintptr]reflect.StructField{}
	for _, f := range reflect.VisibleFields(v.Type()) {
		if f.IsExported() && !f.Anonymous {
			fields[v.FieldByIndex(f.Index).Addr().Pointer()] = f
		}
	}
	byFlag := map[string]reflect.StructField{}
	fs.VisitAll(func(fl *pflag.Flag) {
		var p reflect.Value
		if t, ok := fl.Value.(interface{ target() any }); ok {
			p = reflect.ValueOf(t.target())
		} else {
			p = reflect.ValueOf(fl.Value)
		}
		if p.Kind() != reflect.Pointer {
			return
		}
		if f, ok := fields[p.Pointer()]; ok {
			byFlag[fl.Name] = f
		}
	})
	return byFlag
}

// flagName returns the command-line name of the flag of sets that sets
// field, "--name" (or "-n" for a one-letter name): the flag bound to the
// field itself, else the first bound to a field whose path ends in it
// (the field "Data" of an error from train is "Train.Data" in a run).
// It returns "" if no flag sets the field.
func flagName(field string, sets []*pflag.FlagSet) string {
	var found *pflag.Flag
	for _, exact := range []bool{true, false} {
		for _, fs := range sets {
			fs.VisitAll(func(fl *pflag.Flag) {
				a := fl.Annotations[fieldKey]
				if found != nil || len(a) == 0 {
					return
				}
				if a[0] == field || !exact && strings.HasSuffix(a[0], "."+field) {
					found = fl
				}
			})
		}
		if found != nil {
			break
		}
	}
	switch {
	case found == nil:
		return ""
	case len(found.Name) == 1:
		return "-" + found.Name
	}
	return "--" + found.Name
}

// Message returns the text of err with the flags of sets in place of the
// option fields its *fielderr.Error parts name: "--steps 0: must be at
// least 1" for "Steps 0: must be at least 1". Fields no flag sets keep
// their names.
func Message(err error, sets ...*pflag.FlagSet) string {
	return fielderr.Rename(err, func(field string) string { return flagName(field, sets) })
}

// NoteMessage returns msg, a notice made by fielderr.Note or Notef, with
// the flags of sets in place of the option fields it names, as Message
// does for errors.
func NoteMessage(msg string, sets ...*pflag.FlagSet) string {
	return fielderr.RenameNote(msg, func(field string) string { return flagName(field, sets) })
}

// Notice returns the notice function of a command: it writes each notice
// on w as "ebmpipe COMMAND: MESSAGE", the message by NoteMessage.
func Notice(w io.Writer, command string, sets ...*pflag.FlagSet) func(msg string) {
	return func(msg string) { fmt.Fprintf(w, "ebmpipe %s: %s\n", command, NoteMessage(msg, sets...)) }
}

// WithFlags returns err with its text written by Message(err, sets...),
// or nil if err is nil. It wraps err.
func WithFlags(err error, sets ...*pflag.FlagSet) error {
	if err == nil {
		return nil
	}
	return &flagError{Message(err, sets...), err}
}

type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }
func (e *flagError) Unwrap() error { return e.err }
