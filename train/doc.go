// Package train fits an energy model against a generator on the bounds of
// package bounds.
//
// The minimax game of Geng et al. alternates energy steps, which lower
// mean E(data) − mean E(G(z)) plus the upper bound's penalty, with
// generator steps, which raise the lower bound's entropy estimate. Options
// (with DefaultOptions and Check) set the networks ("mlp:" specs or ONNX
// files), the bounds, Adam and the schedule; NewTrainer prepares a run,
// Trainer.Run trains it (checkpoints, metrics.csv) and Trainer.Export
// writes the energy and the generator as ONNX models. A Pair loads a
// trained energy and generator to measure their bounds, as the trainer's
// certified-bracket monitor does during training.
package train
