//! The paper's stack for comparison, run only when `python3 -c "import torch, scipy"` works
//! (neither is a dependency of eigensweep): PyTorch's double-backward HVP on the same data, a
//! top-3 snapshot with scipy's `eigsh` (ARPACK) driven by that HVP at the same θ as ours, and
//! PyTorch's training steps per second for SGD, Adam and SAM at batch 128 on one thread.
//!
//! θ is handed to the script as raw little-endian f32 in eigensweep's flat layout, which is
//! PyTorch's `Linear` layout too (weight `out × in` row-major, then bias), so both stacks
//! solve the same Hessian.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

const SCRIPT: &str = r#"
import gzip, struct, sys, time, json
import numpy as np, torch
d, n, theta_path, parts, steps, eigsh_n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(","), int(sys.argv[5]), int(sys.argv[6])
def read(name, magic):
    for p in (f"{d}/{name}.gz", f"{d}/{name}"):
        try:
            raw = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            break
        except FileNotFoundError:
            continue
    m, c = struct.unpack(">II", raw[:8]); assert m == magic
    return raw
imgs = read("train-images-idx3-ubyte", 2051); labs = read("train-labels-idx1-ubyte", 2049)
cnt = struct.unpack(">I", imgs[4:8])[0]
x_all = torch.from_numpy(np.frombuffer(imgs[16:], dtype=np.uint8).reshape(cnt, 784).astype(np.float32) / 255.0)
y_all = torch.from_numpy(np.frombuffer(labs[8:], dtype=np.uint8).astype(np.int64))
idx = torch.from_numpy(np.arange(n) % cnt)
x, y = x_all[idx], y_all[idx]
theta = torch.from_numpy(np.fromfile(theta_path, dtype="<f4").copy())
def model_at_theta():
    m = torch.nn.Sequential(torch.nn.Linear(784,100), torch.nn.ReLU(), torch.nn.Linear(100,100), torch.nn.ReLU(), torch.nn.Linear(100,10))
    with torch.no_grad():
        at = 0
        for p in m.parameters():
            p.copy_(theta[at:at + p.numel()].view_as(p)); at += p.numel()
        assert at == theta.numel()
    return m
out = {"version": torch.__version__, "threads": torch.get_num_threads()}
model = model_at_theta()
ps = list(model.parameters())
def hvp(v, x=x, y=y):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    g = torch.autograd.grad(loss, ps, create_graph=True)
    flat = torch.cat([t.reshape(-1) for t in g])
    hv = torch.autograd.grad(flat @ v, ps)
    return torch.cat([t.reshape(-1) for t in hv])
if "hvp" in parts:
    v = torch.randn(theta.numel())
    hvp(v)
    best = min((lambda t: (hvp(v), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(3))
    out["hvp_seconds"] = best
if "eigsh" in parts:
    from scipy.sparse.linalg import LinearOperator, eigsh
    calls = [0]
    def matvec(v):
        calls[0] += 1
        return hvp(torch.from_numpy(np.asarray(v, dtype=np.float32).reshape(-1)), x_all[:eigsh_n], y_all[:eigsh_n]).double().numpy()
    N = theta.numel()
    op = LinearOperator((N, N), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).uniform(-1.0, 1.0, N)
    t = time.perf_counter()
    vals = eigsh(op, k=3, which="LA", tol=1e-3, v0=v0, return_eigenvectors=False)
    out["eigsh"] = {"products": calls[0], "seconds": time.perf_counter() - t, "values": sorted(float(v) for v in vals)[::-1]}
if "train" in parts:
    torch.set_num_threads(1)
    rates = {}
    for name in ("sgd", "adam", "sam"):
        m = model_at_theta()
        params = list(m.parameters())
        opt = torch.optim.Adam(params, lr=1e-3) if name == "adam" else torch.optim.SGD(params, lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        state = {"perm": torch.randperm(cnt, generator=gen), "at": 0}
        def batch():
            if state["at"] >= cnt:
                state["perm"], state["at"] = torch.randperm(cnt, generator=gen), 0
            b = state["perm"][state["at"]:state["at"] + 128]; state["at"] += 128
            return x_all[b], y_all[b]
        def step():
            xb, yb = batch()
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(m(xb), yb)
            loss.backward()
            if name == "sam":
                with torch.no_grad():
                    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
                    es = [p.grad * (0.05 / (norm + 1e-12)) for p in params]
                    for p, e in zip(params, es): p.add_(e)
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(m(xb), yb).backward()
                with torch.no_grad():
                    for p, e in zip(params, es): p.sub_(e)
            opt.step()
        for _ in range(20): step()
        best = 0.0
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(steps): step()
            best = max(best, steps / (time.perf_counter() - t))
        rates[name] = best
    out["train"] = rates
print(json.dumps(out))
"#;

/// What the script measured.
#[derive(Debug, Deserialize)]
pub(crate) struct TorchResults {
    version: String,
    threads: usize,
    hvp_seconds: Option<f64>,
    eigsh: Option<Eigsh>,
    train: Option<TrainRates>,
}

#[derive(Debug, Deserialize)]
struct Eigsh {
    products: usize,
    seconds: f64,
    values: Vec<f64>,
}

/// PyTorch training steps per second, batch 128, one thread.
#[derive(Debug, Deserialize)]
pub(crate) struct TrainRates {
    sgd: f64,
    adam: f64,
    sam: f64,
}

/// eigensweep's side of the comparison, measured earlier in the same `bench` run.
#[derive(Debug, Default)]
pub(crate) struct Ours {
    /// One HVP on the same samples, seconds.
    pub hvp_seconds: Option<f64>,
    /// A cold top-3 snapshot at tol 1e-3 at the same θ: products, seconds (with set-up).
    pub cold: Option<(usize, f64)>,
    /// Training steps/s of SGD, Adam and SAM on the host engine, batch 128, one thread.
    pub training: Option<[f64; 3]>,
}

/// Whether python3 can import torch and scipy; the reason when not.
fn available() -> Result<(), String> {
    match Command::new("python3")
        .args(["-c", "import torch, scipy"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`import torch, scipy` failed on this machine: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Err(e) => Err(format!("could not run python3: {e}")),
    }
}

/// Runs the parts of the script named in `parts` ("hvp", "eigsh", "train") with θ = `theta`:
/// the HVP on the first `samples` training images (repeated when fewer), eigsh on the Hessian
/// of the first `eigsh_samples`, `steps` timed training steps per repetition. Returns the
/// Markdown section comparing them with `ours`.
pub(crate) fn measure(
    mnist_dir: &Path,
    (samples, eigsh_samples): (usize, usize),
    theta: &[f32],
    parts: &[&str],
    steps: usize,
    ours: &Ours,
) -> String {
    let mut report =
        String::from("### The paper's stack: PyTorch (+ scipy eigsh), same data and θ\n\n");
    if let Err(why) = available() {
        let _ = writeln!(report, "Not measured: {why}.\n");
        return report;
    }
    let results = run_script(mnist_dir, (samples, eigsh_samples), theta, parts, steps);
    let r = match results {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(report, "Not measured: {e}.\n");
            return report;
        }
    };
    let _ = writeln!(
        report,
        "PyTorch {} ({} threads for the HVP and eigsh, 1 for training).\n\n| quantity | PyTorch stack | eigensweep | eigensweep's speed-up |\n|---|---|---|---|",
        r.version, r.threads
    );
    if let Some(s) = r.hvp_seconds {
        let _ = writeln!(
            report,
            "| one HVP, {samples} samples, double backward | {:.1} ms | {} | {} |",
            s * 1e3,
            ours.hvp_seconds
                .map_or("—".into(), |o| format!("{:.1} ms", o * 1e3)),
            ours.hvp_seconds
                .map_or("—".into(), |o| format!("**{:.2}×**", s / o)),
        );
    }
    if let Some(e) = &r.eigsh {
        let _ = writeln!(
            report,
            "| top-3 at tol 1e-3, cold, at initialisation, Hessian on {eigsh_samples} samples (eigsh: λ = {}) | {} products, {:.2} s | {} | {} |",
            e.values
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(", "),
            e.products,
            e.seconds,
            ours.cold
                .map_or("—".into(), |(p, s)| format!("{p} products, {s:.2} s")),
            ours.cold
                .map_or("—".into(), |(_, s)| format!("**{:.2}×**", e.seconds / s)),
        );
    }
    if let Some(t) = &r.train {
        for (name, theirs, i) in [("SGD", t.sgd, 0), ("Adam", t.adam, 1), ("SAM", t.sam, 2)] {
            let o = ours.training.map(|o| o[i]);
            let _ = writeln!(
                report,
                "| {name} steps/s, batch 128, 1 thread | {theirs:.0} | {} | {} |",
                o.map_or("—".into(), |o| format!("{o:.0}")),
                o.map_or("—".into(), |o| format!("**{:.2}×**", o / theirs)),
            );
        }
    }
    report.push('\n');
    report
}

fn run_script(
    mnist_dir: &Path,
    (samples, eigsh_samples): (usize, usize),
    theta: &[f32],
    parts: &[&str],
    steps: usize,
) -> Result<TorchResults, String> {
    let file =
        tempfile::NamedTempFile::new().map_err(|e| format!("a temporary file for θ: {e}"))?;
    let bytes: Vec<u8> = theta.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(file.path(), bytes).map_err(|e| format!("writing θ: {e}"))?;
    let output = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &mnist_dir.display().to_string(),
            &samples.to_string(),
            &file.path().display().to_string(),
            &parts.join(","),
            &steps.to_string(),
            &eigsh_samples.to_string(),
        ])
        .output()
        .map_err(|e| format!("could not run python3: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the PyTorch script failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("the PyTorch script printed {line:?}: {e}"))
}
