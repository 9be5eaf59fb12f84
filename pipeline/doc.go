// Package pipeline runs ebmpipe's data paths: batching, scoring engines,
// log Z estimates and end-to-end runs.
//
// Row files are read and written by package internal/rows.
package pipeline
