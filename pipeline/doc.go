// Package pipeline runs ebmpipe end to end: a run file's sections drive
// training, log Z, evaluation, scoring, pictures, in one Run; the demo is
// such a run.
//
// Each step is a package of its own: pipeline/engine runs models,
// pipeline/score scores row files, pipeline/logz estimates log Z,
// pipeline/evaluate measures a trained model on held-out rows,
// pipeline/sample draws samples, pipeline/plot draws pictures. Row files
// are read and written by package internal/rows.
package pipeline
