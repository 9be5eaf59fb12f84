// Package sample draws samples from a generator, optionally refined by
// Langevin steps on an energy model.
package sample
