// Package evaluate measures a trained model on held-out rows: its bounds
// on the NLL, its test log-likelihood, a Gaussian baseline.
package evaluate
