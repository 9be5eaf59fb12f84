package pipeline

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A RunFile is a parsed run file: sections named after ebmpipe commands,
// each holding options named after that command's flags. It is YAML (and
// so JSON) of this shape:
//
//	# ebmpipe run RUN.yaml
//	train:
//	  data: toy:25gaussians
//	  steps: 3000
//	  lower: jacobian
//	  upper: gp
//	  out: out/demo
//	logz:
//	  method: grid
//	bounds:
//	  samples: 2000
//	score:
//	  input: rows.csv
//	  output: scores.csv
//	run:
//	  test-rows: 5000
//
// A value is a scalar, given to the flag as written (true, 2e-4,
// toy:moons), or a list of scalars, given joined by commas (bounds: [-3,
// 3]). ParseRunFile checks only the shape; RunConfig.Apply checks the
// names and values against the commands' flags.
type RunFile struct {
	// Name is the file's name as given, for messages.
	Name string
	// Dir is the directory that relative paths in the file are taken
	// from: the file's own directory, or "" for the current one.
	Dir      string
	Sections []RunSection
}

// A RunSection is one section of a run file.
type RunSection struct {
	Name    string
	Line    int
	Options []RunOption
}

// A RunOption is one option of a run file section.
type RunOption struct {
	Key   string
	Value string // as written; a list's items joined by commas
	Line  int
}

// maxRunFileSize bounds the size of a run file read.
const maxRunFileSize = 1 << 20

// ReadRunFile reads and parses the run file at path (see RunFile). Its
// Dir is the directory of path.
func ReadRunFile(path string) (*RunFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRunFileSize+1))
	if err != nil {
		return nil, err // names the file
	}
	if len(data) > maxRunFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a run file", path, maxRunFileSize)
	}
	rf, err := ParseRunFile(path, data)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		rf.Dir = dir
	}
	return rf, nil
}

// ParseRunFile parses the run file data, named name in messages. Errors
// are one line, "NAME:LINE: what is wrong". An empty file, or one holding
// only comments, has no sections.
func ParseRunFile(name string, data []byte) (*RunFile, error) {
	rf := &RunFile{Name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, rf.errEmpty()
		}
		return nil, rf.yamlError(err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, rf.errorf(extra.Line, "a second YAML document; a run file holds one")
	} else if !errors.Is(err, io.EOF) {
		return nil, rf.yamlError(err, data)
	}
	top := &doc
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return nil, rf.errEmpty()
		}
		top = top.Content[0]
	}
	if isNull(top) {
		return nil, rf.errEmpty()
	}
	if top.Kind != yaml.MappingNode {
		return nil, rf.errorf(top.Line, "%s; want sections such as \"train:\", each holding options", describeNode(top))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		name, err := rf.key(k, seen)
		if err != nil {
			return nil, err
		}
		sec := RunSection{Name: name, Line: k.Line}
		if !isNull(v) {
			if v.Kind != yaml.MappingNode {
				return nil, rf.errorf(v.Line, "section %s: %s; want options such as \"steps: 100\"", name, describeNode(v))
			}
			keys := map[string]int{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				ok, ov := v.Content[j], v.Content[j+1]
				key, err := rf.key(ok, keys)
				if err != nil {
					return nil, err
				}
				val, err := rf.value(name, key, ov)
				if err != nil {
					return nil, err
				}
				sec.Options = append(sec.Options, RunOption{Key: key, Value: val, Line: ok.Line})
			}
		}
		rf.Sections = append(rf.Sections, sec)
	}
	if len(rf.Sections) == 0 { // "{}": a mapping without sections
		return nil, rf.errEmpty()
	}
	return rf, nil
}

// key returns the name a mapping key gives, rejecting duplicates.
func (rf *RunFile) key(k *yaml.Node, seen map[string]int) (string, error) {
	if k.Kind != yaml.ScalarNode || isNull(k) || k.Value == "" {
		return "", rf.errorf(k.Line, "%s as a key; want a name", describeNode(k))
	}
	if line, ok := seen[k.Value]; ok {
		return "", rf.errorf(k.Line, "%q is given twice (first on line %d)", k.Value, line)
	}
	seen[k.Value] = k.Line
	return k.Value, nil
}

// value returns the flag value of option key of section: a scalar as
// written, or a list of scalars joined by commas.
func (rf *RunFile) value(section, key string, v *yaml.Node) (string, error) {
	switch {
	case isNull(v):
		return "", rf.errorf(v.Line, "%s: %s has no value; give one or leave the option out", section, key)
	case v.Kind == yaml.ScalarNode:
		return v.Value, nil
	case v.Kind == yaml.SequenceNode:
		if len(v.Content) == 0 {
			return "", rf.errorf(v.Line, "%s: %s is an empty list", section, key)
		}
		items := make([]string, len(v.Content))
		for i, it := range v.Content {
			if it.Kind != yaml.ScalarNode || isNull(it) {
				return "", rf.errorf(it.Line, "%s: %s: item %d is %s; want a value", section, key, i+1, describeNode(it))
			}
			items[i] = it.Value
		}
		return strings.Join(items, ","), nil
	default:
		return "", rf.errorf(v.Line, "%s: %s is %s; want a value or a list of values", section, key, describeNode(v))
	}
}

// isNull reports whether n is YAML's null: ~, null, or nothing.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describeNode names a node's kind for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (*" + n.Value + ")"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "an unknown YAML node"
}

func (rf *RunFile) errorf(line int, format string, args ...any) error {
	return &RunFileError{File: rf.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// yamlLine matches the line number in the YAML library's messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlParserProblems are the messages of the YAML library's parser, which
// gives 0-based line numbers, where its scanner gives 1-based ones.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlError turns an error of the YAML library about data into a
// RunFileError.
func (rf *RunFile) yamlError(err error, data []byte) error {
	msg := strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(yamlParserProblems, msg) {
			line++
		}
	} else if slices.Contains(yamlParserProblems, msg) || hasAnyPrefix(msg, "found ", "did not find ", "could not find ", "mapping ", "block ") {
		// The scanner and the parser leave out line 1.
		line = 1
	}
	if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) && bytes.HasPrefix(bytes.TrimLeft(lines[line-1], " "), []byte("\t")) {
		msg += " (a tab: YAML indents with spaces)"
	}
	return &RunFileError{File: rf.Name, Line: line, Msg: msg}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// A RunFileError is an error at a line of a run file.
type RunFileError struct {
	File string
	Line int // 0 if not known
	Msg  string
}

func (e *RunFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

//go:embed demo.yaml
var demoRunFile []byte

// DemoRunFile returns the run file of ebmpipe demo, the quickstart: a
// short run of the default recipe on toy:25gaussians writing into
// out/demo.
func DemoRunFile() []byte { return slices.Clone(demoRunFile) }

// errEmpty reports a run file without sections: running the defaults
// (10 000 iterations into ./run) is never what an empty file meant.
func (rf *RunFile) errEmpty() error {
	return rf.errorf(1, "no sections; want sections such as \"train:\", each holding options")
}
