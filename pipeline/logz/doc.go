// Package logz estimates the log normalising constant log Z of an energy
// model, by grid integration or importance sampling.
package logz
