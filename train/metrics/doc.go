// Package metrics is the format of metrics.csv, the training log: its
// columns, the rows the trainer appends to it, the reader of the file.
package metrics
