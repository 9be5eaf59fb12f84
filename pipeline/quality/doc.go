// Package quality measures how close samples are to a target distribution.
//
// For the Gaussian-mixture toy sets (25gaussians, 8gaussians) it counts,
// as in the GAN literature (Metz et al., "Unrolled GANs"; Srivastava et
// al., "VEEGAN"), the modes a generator covers and the share of its
// high-quality samples:
//
//   - a sample is high-quality when it lies within Radius·σ (3σ by default)
//     of some mode's centre, in Euclidean distance;
//   - a mode is covered when at least MinShare (1 % by default) of all
//     samples are high-quality samples nearest to it.
//
// A sample drawn from the mixture itself is high-quality with probability
// P(χ²_d ≤ 9), 1 − e^{−9/2} ≈ 98.9 % in two dimensions, not 100 %.
//
// Exact log-densities are given where the toy set's law has one in closed
// form: 25gaussians and 8gaussians (equal-weight isotropic Gaussian
// mixtures) and rings (four circles of radius 3, 2.25, 1.5 and 0.75 with
// equal weights, blurred by isotropic Gaussian noise of std 0.08):
//
//	p(x) = ¼ Σ_k (2πs²)⁻¹ exp(−(|x| − R_k)²/(2s²)) · e^{−z_k} I₀(z_k),  z_k = |x| R_k / s²
//
// which is the law of the rings generator as its row count grows: the
// generator spaces its angles evenly instead of drawing them, n/4 per
// ring, and for n ≥ 1000 (when n is a multiple of 4) the mixture of those
// n Gaussians differs from p by less than 1e-6 relative over the data's
// range (TestRingsFinite). moons, swissroll, pinwheel, 2spirals and
// checkerboard have no closed-form density here (moons and swissroll
// would need a one-dimensional quadrature).
//
// The densities are in the toy generators' own coordinates, before any
// standardisation of the data; a model trained on standardised rows must
// add log |det| of the standardisation before it is compared with them.
//
// For any data, EnergyDistance is a two-sample distance between generator
// samples and held-out rows with a permutation-test p-value. The energy
// distance (Székely and Rizzo) was chosen over MMD with a Gaussian kernel
// because it has no bandwidth to choose: it is a metric between laws with
// finite first moments, equal to zero only when they are equal, it
// needs nothing but the pairwise Euclidean distances, and it scales with
// the data (multiplying every row by c multiplies it by c), so its value
// reads in the data's units.
package quality
