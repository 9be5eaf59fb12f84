// Package beamscore scores row files with an energy model as an Apache Beam pipeline.
//
// Run expands file patterns (local globs, or any filesystem Beam's Go SDK
// registers, such as gs://), reads each file with the row readers of
// package table, scores its rows in batches with the Go engine or ONNX
// Runtime (one engine per DoFn instance) and writes one CSV shard per input
// file, PREFIX-00000-of-000NN.csv, with the columns of score.Score. The
// pipeline runs in-process on Beam's prism runner, or on any runner Beam
// reaches: a portable job server (Flink, Spark) or Google Cloud Dataflow.
//
// A file is the unit of work: its rows are read, scored and written in
// order by one DoFn call, so shard i holds the scores of the i-th input
// file (in sorted order of each pattern's matches), row for row, and bad
// rows keep their exact line numbers. Files are spread over the workers;
// a single large file is not split.
//
// A program that runs pipelines must call Init at the start of main: Beam
// workers started by a runner re-enter the binary with Beam's own flags.
package beamscore
