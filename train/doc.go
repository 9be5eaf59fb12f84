// Package train fits an energy model against a generator on the bounds of
// package bounds.
//
// The minimax game of Geng et al. alternates energy steps, which lower
// mean E(data) − mean E(G(z)) plus the upper bound's penalty, with
// generator steps, which raise the lower bound's entropy estimate. Options
// (with DefaultOptions and Check) set the networks ("mlp:" specs or ONNX
// files), the bounds, Adam and the schedule; NewTrainer prepares a run,
// Trainer.Run trains it (checkpoints, metrics.csv) and Trainer.Export
// writes the energy and the generator as ONNX models.
//
// Options.ApplyRecipe sets a named recipe of the loss and its optimiser.
// RecipeDefault (DefaultOptions) holds up where the paper's drifts: the
// diffusion upper bound, whose denoising term is always on, with Adam at
// 3e-3, a 200-iteration warm-up, a cosine decay to 5 % over a fixed 20 000 iterations
// and an average of the parameters (decay 0.999) that evaluation and
// export use. RecipePaper is the paper's toy settings (the gp bound,
// λ_GP = 1e-3, τ = 1, Adam at 2e-4, constant): there the hinge
// max(0, λ_GP·GP − τ) stays closed for the first 8 000 iterations on
// 25gaussians, nothing else limits the energy's slopes, and the held-out
// log-likelihood falls from −1.8 nats at 6 000 iterations to −19 at
// 20 000 (bench/drift.md). RecipeDefault's late stage, from iteration
// 5 000, lowers the diffusion bound's noise levels (Options.LateSigmas,
// LateFrom), and from 10 000 importance-weights the negatives (below):
// the first steepens the walls between modes, which the levels up to 0.1
// blur, the second sets the modes' weights (bench/density.md). Between
// the two the sharp wells play against the generator's samples, which
// spreads the generator over every well and takes the energy far from the
// data for a while (−9 to −33 nats at 10 000 iterations; the weights heal
// it by 15 000 to 20 000, §8b).
//
// Options.AnnealFrom anneals the generator's target from p_θ^β0 to p_θ:
// against a fixed sharp target (the true 25gaussians energy) a freshly
// initialised generator otherwise falls into the one mode it starts in.
// In co-training it is not what limits mode coverage: there the energy's
// modes are cones with heavy tails that hold most of p_θ's mass, and the
// generator follows them (bench/generator.md).
//
// Options.ImportanceNegatives weights the energy's negative phase by
// exp(−E)/q (self-normalised over the batch), from iteration
// Options.ImportanceFrom on, so that its gradient estimates the
// likelihood's: the plain phase compares the data with q only, and
// nothing then sets the weights of p_θ's separated modes
// (bench/density.md). Weighted on the generator's samples they are only
// as good as its cover of the modes; Options.ImportanceData takes them
// instead on draws around the data rows and Options.ImportanceBroad on a
// wide Gaussian, both of known density, so that they set every mode's
// weight whatever the generator covers and raise the energy where it
// falls away from the data (RecipeDefault does; bench/density.md §7).
// The energy step is one program per stage (stages.go), so the weights
// cost nothing before they start; where the networks cannot use them
// (cooperative negatives; on the generator's samples also latent and
// data dimensions that differ or a BatchNormalization generator) they
// are off with a notice, and the late noise levels with them.
//
// Options.GeneratorMatch adds to the generator's loss a pull towards the
// importance-weighted draws of p_θ: each draw pulls the generator's
// sample nearest to it (match.go). The reverse KL of the lower bound
// alone leaves empty the wells the generator has not reached; the term
// depends on the energy only through the weights, so it moves q towards
// p_θ, not towards the data (RecipeDefault, from iteration 5 000;
// bench/density.md §8). Options.GeneratorMatchTarget MatchData pulls
// towards the data rows instead, which blurs the generator (§8b).
//
// A Pair loads a trained energy and generator to measure their bounds, as
// the trainer's certified-bracket monitor does during training.
package train
