// Package fielderr names the options at fault in an error by their fields.
//
// Libraries check plain option structs and report a problem with an
// option by the Go name of its field ("Steps"), never by a command-line
// flag: an *Error keeps the references to fields apart from the rest of
// its text, so that a command line interface can write the same message
// with its own names for them (Format), such as "--steps".
package fielderr
