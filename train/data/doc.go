// Package data loads the rows ebmpipe trains on: row files, toy sets drawn
// from seeded random streams, the shuffling sampler of training batches.
package data
