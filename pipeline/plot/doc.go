// Package plot draws the pictures of a trained model: its density, its
// samples over the data, its training curves.
package plot
