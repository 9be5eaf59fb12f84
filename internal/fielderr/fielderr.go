package fielderr

import (
	"fmt"
	"regexp"
	"strings"
)

// An Error is an error about one or more fields of an options struct. Its
// text names each field as Go spells it, such as "Steps" or
// "Estimate.GridSize"; Format writes it with other names.
type Error struct {
	text string  // the message, each field reference between two marks
	errs []error // the errors wrapped with %w
}

// mark delimits a field reference in Error.text. Option values and paths
// do not hold NUL, so the text's own characters are never taken for one.
const mark = "\x00"

// ref matches a field reference in a format: a Go name in braces, such as
// {Steps} or {Estimate.GridSize}.
var ref = regexp.MustCompile(`\{([A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*)\}`)

// Errorf formats an error like fmt.Errorf, including %w. In format, a Go
// field name in braces, such as {Steps}, refers to that field; the first
// reference should be the field at fault.
func Errorf(format string, args ...any) *Error {
	err := fmt.Errorf(ref.ReplaceAllString(format, mark+"$1"+mark), args...)
	e := &Error{text: err.Error()}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		e.errs = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		e.errs = u.Unwrap()
	}
	return e
}

// Error returns the message with the fields' Go names.
func (e *Error) Error() string { return e.Format(nil) }

// Unwrap returns the errors wrapped with %w.
func (e *Error) Unwrap() []error { return e.errs }

// Field returns the first field the message refers to, the one at fault,
// or "" if there is none.
func (e *Error) Field() string {
	if f := e.Fields(); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Fields returns the fields the message refers to, in order.
func (e *Error) Fields() []string {
	parts := strings.Split(e.text, mark)
	var fields []string
	for i := 1; i < len(parts); i += 2 {
		fields = append(fields, parts[i])
	}
	return fields
}

// Format returns the message with each field written as name(field), or
// as its Go name if name is nil or returns "".
func (e *Error) Format(name func(field string) string) string {
	parts := strings.Split(e.text, mark)
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && name != nil {
			if n := name(p); n != "" {
				p = n
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// Rename returns the text of err with the message of every *Error in its
// tree written by Format(name). Messages of errors wrapping an *Error
// hold its text as it is, so they change with it.
func Rename(err error, name func(field string) string) string {
	msg := err.Error()
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			msg = strings.ReplaceAll(msg, e.Error(), e.Format(name))
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if w := u.Unwrap(); w != nil {
				walk(w)
			}
		case interface{ Unwrap() []error }:
			for _, w := range u.Unwrap() {
				if w != nil {
					walk(w)
				}
			}
		}
	}
	walk(err)
	return msg
}

// Note returns the text of err for a notice, a message that is not an
// error, passed as a string (such as to an options struct's Notice
// func): the text of every *Error in err's tree keeps its field
// references marked, so that RenameNote can write them with other
// names. Other text is as err.Error() writes it.
func Note(err error) string {
	return Rename(err, func(field string) string { return mark + field + mark })
}

// Notef is Note(Errorf(format, args...)): the text of a notice whose
// format refers to fields in braces, as for Errorf.
func Notef(format string, args ...any) string { return Note(Errorf(format, args...)) }

// RenameNote returns msg, a notice made by Note or Notef (or any text),
// with each field it refers to written as name(field), or as its Go name
// if name is nil or returns "". RenameNote(msg, nil) is the notice as a
// program without its own names for the fields shows it.
func RenameNote(msg string, name func(field string) string) string {
	return (&Error{text: msg}).Format(name)
}
