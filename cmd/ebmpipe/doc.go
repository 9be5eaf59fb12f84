// Command ebmpipe is the command line of ebmpipe: energy-based models
// trained with bidirectional bounds, carried in and out of ONNX.
//
// Usage:
//
//	ebmpipe COMMAND [flags]
//
// Run `ebmpipe help` for the commands and `ebmpipe COMMAND --help` for a
// command's flags.
package main
