#!/usr/bin/python3
"""Times one training iteration of ebmpipe's toy setup in PyTorch.

The iteration is the one `go test -bench BenchmarkStep ./train` times
(train/bench_test.go): energy mlp:2-128-128-1 with spectral normalisation
of its first two weight matrices, generator mlp:2-128-128-2, encoder
mlp:2-128-128-4 for --lower mi, PReLU hidden activations (one slope each,
0.25 at first), batch 256, 25-gaussians data; one Adam step of the energy
on

    L_E = mean E(data) - mean E(G(z)) + upper loss,

then one Adam step of the generator (and encoder) on

    L_G = mean E(x) + lower loss  (x = G(z), or G(z) + sigma*eps for mi),

Adam with beta1 = 0, beta2 = 0.9, eps = 1e-6, lr 2e-4. The bounds follow
bounds/doc.go with the defaults of bounds.LowerByName/UpperByName: the
upper bounds gp and diffusion take s_min and grad_z h from the
Rayleigh-Ritz Jacobian term (2 iterations) whatever the lower bound is, as
in Go. Every Jacobian product is made as in package bounds: J^T w by a VJP,
J v by the double-VJP trick, J never formed except by d products J e_k in
jacobian-exact. Gradients go to the trained networks only
(torch.autograd.grad over their parameters), as Go's ParamGrads.

Differences from Go, none changing the passes made: G(z) and E(G(z)) are
computed once per update and reused by the bound (Go's bounds call the
networks again, and Gorgonia merges the identical nodes); the products
inside the Rayleigh-Ritz iteration, which only feed constants, are made
without a graph; the weights are PyTorch's own initialisation, and the
data a fresh draw of 25 gaussians. Go copies parameters into its graphs
and gradients out every update; PyTorch has no such copies.

Prints a header line "# PyTorch VERSION, N threads, BLAS PATH", then one
line per lower/upper pair and dtype:

    PAIR DTYPE STEPS_PER_S CPU_MS_PER_STEP NONFINITE

STEPS_PER_S is the best of --repeats timings of --iters iterations, and
CPU_MS_PER_STEP the least process CPU time (all threads) per iteration.

NONFINITE counts the iterations (warm-up included) whose loss was not
finite (in float32, det J^T J of jacobian-exact can round to 0 or below
where J is ill-conditioned); such iterations are timed all the same, with
the gradients computed but the Adam step skipped.

With --run N it times nothing itself: it trains issue 16's `ebmpipe
train` configuration (bench/train_cmd.sh; train.commandOptions) for N
iterations as one process, as the command does, for timing the whole
process beside `ebmpipe train --steps N`: 8gaussians data (100 000 rows),
energy mlp:2-128-128-1:silu and generator mlp:2-128-128-2:silu without
spectral normalisation, jacobian-exact/gp, batch 256, float64, the Adam
settings above; a metrics row (the mean losses) every 100 iterations and
at the end, a checkpoint (parameters and Adam states, torch.save) every
1000 iterations and at the end, under --out. What the command does and
this does not: its ONNX export, plots and log Z bracket at the end (these
only add to ebmpipe's time).

Usage: bench/train_step.py [--iters 10] [--repeats 3] [--warmup 2] [--threads N]
       [--pairs jacobian/gp,...] [--dtypes float64,float32]
       bench/train_step.py --run N --out DIR [--threads N]
"""

import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn

LOWERS = ["jacobian", "jacobian-exact", "mi"]
UPPERS = ["gp", "gp0", "diffusion"]

BATCH = 256
D = 2  # data width
d = 2  # latent width
HIDDEN = 128
LR = 2e-4
BETAS = (0.0, 0.9)
EPS = 1e-6
ITERATIONS = 2  # Rayleigh-Ritz iterations, bounds.DefaultIterations
LAMBDA_H = 1.0
GP_LAMBDA, GP_TAU = 1e-3, 1.0  # bounds.DefaultGPLambda, DefaultGPTau
GP0_LAMBDA = 0.1  # bounds.DefaultGP0Lambda
LSI = 1.0
MI_SIGMA = 0.1  # bounds.DefaultMISigma
SIGMAS = [0.01, 0.04, 0.07, 0.1]  # bounds.DefaultSigmas
DIFF_LAMBDA = 1.0
LOG2PIE = math.log(2 * math.pi * math.e)
TINY = 1e-30


ACTIVATIONS = {"prelu": nn.PReLU, "silu": nn.SiLU}


def mlp(*sizes, act="prelu"):
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(ACTIVATIONS[act]())
    return nn.Sequential(*layers)


SN_ITERATIONS = 30  # train.snIterations


class SpectralEnergy(nn.Module):
    """An MLP energy whose weight matrices but the output layer's are used
    as W / sigma, sigma = <W, u v^T> with u, v the top singular vectors of
    the current W by SN_ITERATIONS power iterations from a fixed start,
    held constant (train/specnorm.go). begin_step recomputes them and the
    divided weights, once per update, as Go does before every run."""

    def __init__(self, *sizes, act="prelu", spectral=True):
        super().__init__()
        self.net = mlp(*sizes, act=act)
        self.layers = [m for m in self.net if isinstance(m, nn.Linear)]
        self.normed = self.layers[:-1] if spectral else []
        self.weights = None

    def begin_step(self):
        ws = []
        for lin in self.normed:
            w = lin.weight
            with torch.no_grad():
                cols = w.shape[1]
                j = torch.arange(cols, dtype=w.dtype)
                v = (-1.0) ** j / (j + 1)
                v = v / v.norm()
                for _ in range(SN_ITERATIONS):
                    u = w @ v
                    u = u / u.norm()
                    v = u @ w
                    v = v / v.norm()
                uv = torch.outer(u, v)
            ws.append(w / (w * uv).sum())
        self.weights = dict(zip(map(id, self.normed), ws))

    def forward(self, x):
        for m in self.net:
            if isinstance(m, nn.Linear) and id(m) in self.weights:
                x = nn.functional.linear(x, self.weights[id(m)], m.bias)
            else:
                x = m(x)
        return x


def toy_25gaussians(n, gen, dtype):
    c = torch.arange(n) % 25
    centres = torch.stack([2.0 * (c // 5 - 2), 2.0 * (c % 5 - 2)], 1).to(dtype)
    x = (centres + 0.05 * torch.randn(n, 2, generator=gen, dtype=dtype)) / 2.828
    return x[torch.randperm(n, generator=gen)]


def toy_8gaussians(n, gen, dtype):
    r = math.sqrt(2) / 2
    centres = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [r, r], [r, -r], [-r, r], [-r, -r]], dtype=dtype)
    c = centres[torch.randint(8, (n,), generator=gen)]
    return (2 * c + 0.02 * torch.randn(n, 2, generator=gen, dtype=dtype)) / 1.414


TOY = {"25gaussians": toy_25gaussians, "8gaussians": toy_8gaussians}


def rowsumsq(x):
    return (x * x).sum(1)


def rowdot(a, b):
    return (a * b).sum(1, keepdim=True)


def normalize(x):
    return x / (rowdot(x, x).sqrt() + TINY).detach()


def smallest_eigvec(a, b=None):
    """Eigenvector c (m, k, 1) of the smallest eigenvalue of the pencil
    (A, B) on the range of B, with c^T B c = 1 and its largest component
    positive: autodiff.Tape.SmallestEigvec. No derivative."""
    with torch.no_grad():
        a = (a + a.transpose(1, 2)) / 2
        if b is None:
            w = None
            p = a
        else:
            b = (b + b.transpose(1, 2)) / 2
            lb, ub = torch.linalg.eigh(b)
            tol = 1e-10 if a.dtype == torch.float64 else 1e-5
            keep = lb > tol * lb.max(1, keepdim=True).values
            scale = torch.where(keep, lb.clamp_min(TINY).rsqrt(), torch.zeros_like(lb))
            w = ub * scale.unsqueeze(1)  # (m, k, k): W = U diag(scale)
            p = w.transpose(1, 2) @ a @ w
            p = (p + p.transpose(1, 2)) / 2
            # Dropped directions get a huge eigenvalue, so never the smallest.
            big = torch.where(keep, torch.zeros_like(lb), torch.full_like(lb, 1e300 if a.dtype == torch.float64 else 1e30))
            p = p + torch.diag_embed(big)
        _, up = torch.linalg.eigh(p)
        c = up[:, :, :1]
        if w is not None:
            c = w @ c
        big = c.abs().argmax(1, keepdim=True)
        sign = torch.sign(torch.gather(c, 1, big))
        sign = torch.where(sign == 0, torch.ones_like(sign), sign)
        return c * sign


class Jacobian:
    """Products with J(z) = dG/dz of x = G(z), as bounds.jacobian."""

    def __init__(self, x, z):
        self.x, self.z = x, z
        self.u = torch.zeros_like(x, requires_grad=True)
        (self.jtu,) = torch.autograd.grad(x, z, self.u, create_graph=True)

    def jv(self, v, create_graph=False):
        """J v, v a constant; differentiable when create_graph."""
        (r,) = torch.autograd.grad(self.jtu, self.u, v.detach(), create_graph=create_graph, retain_graph=True)
        return r

    def jtw(self, w, create_graph=False):
        (r,) = torch.autograd.grad(self.x, self.z, w, create_graph=create_graph, retain_graph=True)
        return r

    def ritz(self, v0, iters):
        """Block Rayleigh-Ritz on J^T J (bounds.jacobian.ritz). The products
        inside the iteration feed only constants (r, p, the Ritz vector), so
        they are made without a graph; the final J v has one."""
        m = v0.shape[0]
        v = normalize(v0).detach()
        p = None
        for _ in range(iters):
            mv = self.jtw(self.jv(v))
            mu = rowdot(v, mv) / rowdot(v, v)
            r = normalize(mv - mu * v).detach()
            cols, mcols = [v, r], [mv, self.jtw(self.jv(r))]
            if p is not None:
                cols.append(p)
                mcols.append(self.jtw(self.jv(p)))
            s, ms = torch.stack(cols, 2), torch.stack(mcols, 2)  # (m, d, k)
            a = s.transpose(1, 2) @ ms
            bm = s.transpose(1, 2) @ s
            c = smallest_eigvec(a, bm)
            vn = (s @ c).reshape(m, -1)
            p = normalize(vn - c[:, 0] * v).detach()
            v = vn.detach()
        return self.jv(v, create_graph=True), v


def jacobian_terms(x, z, exact):
    """h (m) = 1/2 log det J^T J (exact) or d log s_min, and s_min (m),
    a constant: bounds.JacobianEntropy.terms."""
    jac = Jacobian(x, z)
    m, dd = z.shape
    if exact:
        cols = []
        for k in range(dd):
            e = torch.zeros_like(z)
            e[:, k] = 1
            cols.append(jac.jv(e, create_graph=True))
        J = torch.stack(cols, 2)  # (m, D, d)
        jtj = J.transpose(1, 2) @ J
        h = 0.5 * torch.logdet(jtj)
        c = smallest_eigvec(jtj)
        s2 = (c.transpose(1, 2) @ jtj.detach() @ c).reshape(m)
        return h, s2.sqrt()
    v0 = torch.randn_like(z)
    jv, v = jac.ritz(v0, ITERATIONS)
    s2 = rowsumsq(jv) / rowsumsq(v)
    h = (dd / 2) * torch.log(s2)
    return h, s2.sqrt().detach()


def score_z(h, z):
    """grad_z log q(G(z)) = -z - grad_z h, a constant."""
    (gh,) = torch.autograd.grad(h.sum(), z, retain_graph=True)
    return (-(z + gh)).detach()


class Setup:
    def __init__(self, lower, upper, dtype, seed=1, act="prelu", spectral=True, data="25gaussians", rows=5000):
        torch.manual_seed(seed)
        self.lower, self.upper, self.dtype = lower, upper, dtype
        self.gen = torch.Generator().manual_seed(seed)
        self.data = TOY[data](rows, self.gen, dtype)
        self.pos = len(self.data)
        self.E = SpectralEnergy(D, HIDDEN, HIDDEN, 1, act=act, spectral=spectral).to(dtype)
        self.G = mlp(d, HIDDEN, HIDDEN, D, act=act).to(dtype)
        self.Enc = mlp(D, HIDDEN, HIDDEN, 2 * d, act=act).to(dtype) if lower == "mi" else None
        self.e_params = list(self.E.parameters())
        self.g_params = list(self.G.parameters())
        if self.Enc is not None:
            self.g_params += list(self.Enc.parameters())
        self.e_opt = torch.optim.Adam(self.e_params, lr=LR, betas=BETAS, eps=EPS)
        self.g_opt = torch.optim.Adam(self.g_params, lr=LR, betas=BETAS, eps=EPS)

    def batch(self):
        """The next data rows, a new shuffle per epoch (train.Sampler)."""
        if self.pos + BATCH > len(self.data):
            self.data = self.data[torch.randperm(len(self.data), generator=self.gen)]
            self.pos = 0
        b = self.data[self.pos:self.pos + BATCH]
        self.pos += BATCH
        return b

    def energy(self, x):
        return self.E(x).reshape(-1)

    def energy_step(self):
        self.E.begin_step()
        data = self.batch()
        z = torch.randn(BATCH, d, dtype=self.dtype, requires_grad=True)
        if self.upper == "gp0":
            data = data.clone().requires_grad_(True)
        e_data = self.energy(data)
        x = self.G(z)
        e_samp = self.energy(x)
        loss = e_data.mean() - e_samp.mean()
        if self.upper == "gp":
            h, smin = jacobian_terms(x, z, exact=False)
            (gz,) = torch.autograd.grad(e_samp.sum(), z, create_graph=True)
            u = gz + score_z(h, z)
            sq = rowsumsq(u)
            pen = 0.5 * sq.mean()
            _value = (LSI / 2 * sq / smin ** 2).mean()
            loss = loss + torch.relu(GP_LAMBDA * pen - GP_TAU)
        elif self.upper == "gp0":
            (gx,) = torch.autograd.grad(e_data.sum(), data, create_graph=True)
            loss = loss + GP0_LAMBDA * rowsumsq(gx).mean()
        elif self.upper == "diffusion":
            K = len(SIGMAS)
            eps = torch.randn(K * BATCH, D, dtype=self.dtype)
            sig = torch.tensor(SIGMAS, dtype=self.dtype).repeat_interleave(BATCH).unsqueeze(1)
            inv = 1 / sig
            xt = x.repeat(K, 1) + eps * sig
            et = self.energy(xt)
            (gx,) = torch.autograd.grad(et.sum(), xt, create_graph=True)
            sq = rowsumsq(eps * inv - gx)
            cv = (D - rowsumsq(eps)) * inv.reshape(-1) ** 2
            dsm = sq.reshape(K, BATCH)
            dsm_cv = (sq + cv).reshape(K, BATCH)
            h, smin = jacobian_terms(x, z, exact=False)
            fisher = rowsumsq(score_z(h, z)) / smin ** 2
            w, prev = [], 0.0
            for s in SIGMAS:
                w.append((s * s - prev) / 2)
                prev = s * s
            s2bar = sum(s * s for s in SIGMAS) / K
            w = torch.tensor(w, dtype=self.dtype).unsqueeze(0)
            _value = (LSI / 2 * dsm_cv.mean(0) + s2bar / 2 * fisher + e_samp - et.reshape(K, BATCH).mean(0)).mean()
            loss = loss + DIFF_LAMBDA * (w @ dsm).mean()
        return self.update(loss, self.e_params, self.e_opt)

    def generator_step(self):
        self.E.begin_step()
        data = self.batch()
        with torch.no_grad():
            _e_data = self.energy(data).mean()  # a metric, as in Go
        z = torch.randn(BATCH, d, dtype=self.dtype, requires_grad=self.lower != "mi")
        x = self.G(z)
        if self.lower == "mi":
            with torch.no_grad():
                _e_g = self.energy(x).mean()  # E(G(z)), a metric, as in Go
            eps = torch.randn(BATCH, D, dtype=self.dtype)
            x = x + MI_SIGMA * eps
            enc = self.Enc(x)
            mu, lv = enc[:, :d], enc[:, d:]
            quad = (z - mu) ** 2 * torch.exp(-lv)
            logr = (-0.5 * lv - 0.5 * math.log(2 * math.pi) - 0.5 * quad).sum(1)
            c = D / 2 * math.log(2 * math.pi * math.e * MI_SIGMA ** 2) + d / 2 * LOG2PIE
            value = (logr + c).mean()
        else:
            h, _smin = jacobian_terms(x, z, exact=self.lower == "jacobian-exact")
            value = (h + d / 2 * LOG2PIE).mean()
        loss = self.energy(x).mean() - LAMBDA_H * value
        return self.update(loss, self.g_params, self.g_opt)

    def update(self, loss, params, opt):
        """Takes the gradient of loss and an Adam step, skipping the step
        (not the gradient) when the loss is not finite, so that the
        networks stay finite; returns the loss."""
        grads = torch.autograd.grad(loss, params)
        v = loss.item()
        if math.isfinite(v):
            for p, g in zip(params, grads):
                p.grad = g
            opt.step()
        return v

    def iterate(self):
        """One iteration; False if a loss was not finite."""
        le = self.energy_step()
        lg = self.generator_step()
        return math.isfinite(le) and math.isfinite(lg)


def measure(lower, upper, dtype, iters, warmup, repeats):
    """time_iterations of a new Setup(lower, upper, dtype)."""
    return time_iterations(Setup(lower, upper, dtype), iters, warmup, repeats)


def time_iterations(s, iters, warmup, repeats):
    """Times repeats blocks of iters iterations of s (s.iterate()) after
    warmup ones. Returns the best iterations per second, the least CPU time
    of the process per iteration in ms (each over the blocks), and how many
    of all the iterations had a loss that was not finite."""
    bad = sum(not s.iterate() for _ in range(warmup))
    rate, cpu = 0.0, math.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            bad += not s.iterate()
        rate = max(rate, iters / (time.perf_counter() - t0))
        cpu = min(cpu, (time.process_time() - c0) * 1e3 / iters)
    return rate, cpu, bad


LOG_EVERY, CHECKPOINT_EVERY = 100, 1000  # train.DefaultOptions


def run_command(iters, out):
    """Trains issue 16's command configuration for iters iterations,
    writing metrics rows and checkpoints under out (see the module doc)."""
    s = Setup("jacobian-exact", "gp", torch.float64, act="silu", spectral=False, data="8gaussians", rows=100000)
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    t0 = time.perf_counter()
    with open(os.path.join(out, "metrics.csv"), "w") as f:
        f.write("step,loss_energy,loss_generator,wall_seconds\n")
        sum_e = sum_g = 0.0
        n = 0
        for step in range(1, iters + 1):
            sum_e += s.energy_step()
            sum_g += s.generator_step()
            n += 1
            if step % LOG_EVERY == 0 or step == iters:
                f.write(f"{step},{sum_e / n!r},{sum_g / n!r},{time.perf_counter() - t0!r}\n")
                f.flush()
                sum_e = sum_g = 0.0
                n = 0
            if step % CHECKPOINT_EVERY == 0 or step == iters:
                torch.save({"step": step, "energy": s.E.state_dict(), "generator": s.G.state_dict(),
                            "energy_adam": s.e_opt.state_dict(), "generator_adam": s.g_opt.state_dict()},
                           os.path.join(out, "checkpoints", f"step-{step}.pt"))


def blas_library():
    """The BLAS library this process has loaded, by its real path."""
    torch.ones(2, 2, dtype=torch.float64) @ torch.ones(2, 2, dtype=torch.float64)
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "/" in line}
    for p in sorted(paths):
        base = os.path.basename(p)
        if "blas" in base or "blis" in base or "mkl_core" in base:
            return os.path.realpath(p)
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=10, help="iterations per timed block")
    ap.add_argument("--repeats", type=int, default=3, help="timed blocks per pair and dtype; the best counts")
    ap.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads (default: $GOMAXPROCS, else the CPU count, as Go)")
    ap.add_argument("--pairs", default=",".join(f"{lo}/{up}" for lo in LOWERS for up in UPPERS),
                    help="comma-separated LOWER/UPPER pairs")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--run", type=int, default=0,
                    help="train the `ebmpipe train` configuration of issue 16 for this many iterations instead")
    ap.add_argument("--out", default="", help="with --run: the directory for metrics.csv and checkpoints")
    args = ap.parse_args()
    threads = args.threads or int(os.environ.get("GOMAXPROCS", "0") or 0) or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    if args.run:
        if not args.out:
            sys.exit("train_step.py: --run needs --out")
        run_command(args.run, args.out)
        return
    print(f"# PyTorch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas_library()}", flush=True)
    for pair in args.pairs.split(","):
        lower, upper = pair.split("/")
        if lower not in LOWERS or upper not in UPPERS:
            sys.exit(f"train_step.py: unknown pair {pair!r}")
        for name in args.dtypes.split(","):
            dtype = getattr(torch, name)
            rate, cpu, bad = measure(lower, upper, dtype, args.iters, args.warmup, args.repeats)
            print(f"{pair} {name} {rate:.3f} {cpu:.1f} {bad}", flush=True)


if __name__ == "__main__":
    main()
