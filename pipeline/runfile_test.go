package pipeline

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseRunFile(t *testing.T) {
	opts := []string{"train.data=toy:moons", "train.steps=300", "train.lr-energy=1e-3", "logz.bounds=-3,3,-2.5,2.5"}
	cases := []struct {
		name, text string
		sections   []string // section names
		options    []string // SECTION.KEY=VALUE
	}{
		{"yaml", "# a run\ntrain:\n  data: toy:moons\n  steps: 300\n  lr-energy: 1e-3\nlogz:\n  bounds: [-3, 3, -2.5, 2.5]\nscore:\n",
			[]string{"train", "logz", "score"}, opts},
		{"yaml-quoted-block-list", "train:\n  data: 'toy:moons'\n  steps: \"300\"\n  lr-energy: 1e-3\nlogz:\n  bounds:\n  - -3\n  - 3\n  - -2.5\n  - 2.5\nscore: ~\n",
			[]string{"train", "logz", "score"}, opts},
		{"json", "{\n\"train\": {\n\t\"data\": \"toy:moons\",\n\t\"steps\": 300,\n\t\"lr-energy\": 1e-3},\n\"logz\": {\n\t\"bounds\": [-3, 3, -2.5, 2.5]},\n\"score\": {}\n}\n",
			[]string{"train", "logz", "score"}, opts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := ParseRunFile("r.yaml", []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			var sections, options []string
			for _, s := range rf.Sections {
				sections = append(sections, s.Name)
				for _, o := range s.Options {
					options = append(options, s.Name+"."+o.Key+"="+o.Value)
				}
			}
			if !reflect.DeepEqual(sections, c.sections) || !reflect.DeepEqual(options, c.options) {
				t.Errorf("sections %q, options %q; want %q, %q", sections, options, c.sections, c.options)
			}
		})
	}

	// Lines, for messages.
	rf, err := ParseRunFile("r.yaml", []byte(cases[0].text))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, s := range rf.Sections {
		lines = append(lines, s.Line)
		for _, o := range s.Options {
			lines = append(lines, o.Line)
		}
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
}

func TestParseRunFileErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"empty", "", `r.yaml:1: no sections; want sections such as "train:"`},
		{"comments-only", "# nothing\n\n", `r.yaml:1: no sections`},
		{"null-document", "~\n", `r.yaml:1: no sections`},
		{"empty-mapping", "{}\n", `r.yaml:1: no sections`},
		{"bad-indent", "train:\n  steps: 3\n bad: [\n", "r.yaml:3: did not find expected key"},
		{"open-flow-list", "train:\n  steps: 3\n  data: [toy:moons\n  seed: 2\n", "r.yaml:3: did not find expected ',' or ']'"},
		{"line-one", "a: b: c\n", "r.yaml:1: mapping values are not allowed in this context"},
		{"tab", "train:\n\tsteps: 3\n", "r.yaml:2: found character that cannot start any token (a tab: YAML indents with spaces)"},
		{"unclosed-flow", "train: {steps: 3\n", "r.yaml:2: did not find expected ',' or '}'"},
		{"unterminated-string", "train:\n  data: \"toy\n", "r.yaml:2: found unexpected end of stream"},
		{"top-level-list", "- train\n- logz\n", `r.yaml:1: a list; want sections such as "train:", each holding options`},
		{"top-level-scalar", "train\n", `r.yaml:1: the value "train"; want sections`},
		{"section-scalar", "train: 3\n", `r.yaml:1: section train: the value "3"; want options such as "steps: 100"`},
		{"section-list", "train:\n  - steps\n", "r.yaml:2: section train: a list; want options"},
		{"option-mapping", "train:\n  steps: {a: 1}\n", "r.yaml:2: train: steps is a mapping; want a value or a list of values"},
		{"option-null", "train:\n  steps:\nlogz: {}\n", "r.yaml:2: train: steps has no value; give one or leave the option out"},
		{"option-empty-list", "logz:\n  bounds: []\n", "r.yaml:2: logz: bounds is an empty list"},
		{"option-nested-list", "logz:\n  bounds: [1, [2]]\n", "r.yaml:2: logz: bounds: item 2 is a list; want a value"},
		{"option-null-item", "logz:\n  bounds: [1, ~]\n", "r.yaml:2: logz: bounds: item 2 is null; want a value"},
		{"duplicate-option", "train:\n  steps: 3\n  seed: 1\n  steps: 4\n", `r.yaml:4: "steps" is given twice (first on line 2)`},
		{"duplicate-section", "train: {}\nlogz: {}\ntrain: {}\n", `r.yaml:3: "train" is given twice (first on line 1)`},
		{"list-key", "? [a]\n: b\n", "r.yaml:1: a list as a key; want a name"},
		{"alias", "train:\n  steps: &n 3\n  seed: *n\n", "r.yaml:3: train: seed is an alias (*n); want a value or a list of values"},
		{"two-documents", "train: {}\n---\nlogz: {}\n", "r.yaml:2: a second YAML document; a run file holds one"},
		{"control-character", "train:\x00\n", "r.yaml: control characters are not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf, err := ParseRunFile("r.yaml", []byte(c.text))
			if err == nil {
				t.Fatalf("no error; sections %+v", rf.Sections)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q", msg, c.want)
			}
		})
	}
}

// FuzzParseRunFile checks that no input makes the parser panic, that
// errors are one line naming the file, and that a file parsed holds
// sections. internal/cli fuzzes applying the result.
func FuzzParseRunFile(f *testing.F) {
	for _, s := range []string{
		string(DemoRunFile()),
		"train:\n  data: toy:moons\n  steps: 300\nlogz:\n  bounds: [-3, 3]\n",
		`{"train": {"steps": 3, "data": "toy:8gaussians"}, "score": {"raw": true}}`,
		"train: {steps: 3\n",
		"train:\n\tsteps: 3\n",
		"- a\n- b\n",
		"train:\n  steps: &n 3\n  seed: *n\n",
		"train: {}\n---\nlogz: {}\n",
		"a: b: c\n",
		"? [a]\n: b\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := ParseRunFile("f.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the file's name", msg)
			}
			return
		}
		if len(rf.Sections) == 0 {
			t.Errorf("no error and no sections")
		}
	})
}

func ExampleParseRunFile() {
	text := `train:
  data: toy:moons
  steps: 300
logz:
  bounds: [-3, 3]
score:
  stpes: 3
`
	rf, err := ParseRunFile("run.yaml", []byte(text))
	if err != nil {
		panic(err)
	}
	for _, s := range rf.Sections {
		for _, o := range s.Options {
			fmt.Printf("line %d: %s.%s = %s\n", o.Line, s.Name, o.Key, o.Value)
		}
	}
	// Output:
	// line 2: train.data = toy:moons
	// line 3: train.steps = 300
	// line 5: logz.bounds = -3,3
	// line 7: score.stpes = 3
}
