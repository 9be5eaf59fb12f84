package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ebmpipe/ebmpipe/importers"
	"github.com/ebmpipe/ebmpipe/onnx"
)

var inspectCommand = command{
	name: "inspect",
	args: "MODEL.onnx",
	summary: `Describe an ONNX model and whether ebmpipe can train it.

Prints the inputs and outputs with their shapes (symbolic dimensions by
name), the opset, a histogram of its ops, its parameter count, the
metadata (such as ebmpipe.log_z, written by logz), and whether
the model can be trained: every op supported (all unsupported ops are
listed at once), the graph well formed and within the importer's size
budget.`,
	setup: func(fs *pflag.FlagSet, out, _ io.Writer) func([]string) error {
		return func(args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("want one MODEL.onnx, got %d arguments", len(args))}
			}
			return inspect(out, args[0])
		}
	},
}

func inspect(w io.Writer, path string) error {
	m, err := onnx.Load(path)
	if err != nil {
		return err
	}
	g := m.GetGraph()
	fmt.Fprintf(w, "model:    %s\n", path)
	fmt.Fprintf(w, "producer: %s %s\n", m.GetProducerName(), m.GetProducerVersion())
	fmt.Fprintf(w, "opset:    %d (ir_version %d)\n", onnx.OpsetVersion(m, ""), m.GetIrVersion())

	inits := onnx.InitializerNames(g)
	section := func(title string, vs []*onnx.ValueInfoProto) error {
		fmt.Fprintf(w, "%s:\n", title)
		for _, v := range vs {
			if inits[v.GetName()] {
				continue // old exporters list initializers as inputs
			}
			dims, elem, err := onnx.ValueInfoShape(v)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			parts := make([]string, len(dims))
			for i, d := range dims {
				parts[i] = d.String()
			}
			fmt.Fprintf(w, "  %-12s %-8s [%s]\n", v.GetName(), strings.ToLower(elem.String()), strings.Join(parts, " "))
		}
		return nil
	}
	if err := section("inputs", g.GetInput()); err != nil {
		return err
	}
	if err := section("outputs", g.GetOutput()); err != nil {
		return err
	}

	sum := onnx.Summarize(m)
	fmt.Fprintf(w, "ops:      %d nodes\n", sum.Nodes)
	for _, c := range sum.Ops {
		fmt.Fprintf(w, "  %-22s %d\n", c.Op, c.Nodes)
	}
	fmt.Fprintf(w, "parameters: %d in %d initializers\n", sum.Parameters, sum.Initializers)
	if md := m.GetMetadataProps(); len(md) > 0 {
		fmt.Fprintln(w, "metadata:")
		for _, p := range md {
			fmt.Fprintf(w, "  %s = %s\n", p.GetKey(), p.GetValue())
		}
	}
	if errs := importers.Unsupported(m); len(errs) > 0 {
		fmt.Fprintf(w, "trainable: no — %d unsupported:\n", len(errs))
		for _, e := range errs {
			fmt.Fprintf(w, "  %v\n", e)
		}
	} else if _, err := importers.New(m); err != nil {
		// Every op is supported, but the graph is malformed (a cycle, an
		// undefined value) or too large to build.
		fmt.Fprintf(w, "trainable: no — %v\n", err)
	} else {
		fmt.Fprintln(w, "trainable: yes (every op imports with exact first and second derivatives)")
	}
	return nil
}
