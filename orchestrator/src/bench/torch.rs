//! The paper's stack for comparison: PyTorch's double-backward HVP on the same data, run only
//! when `python3 -c "import torch"` works (torch is not a dependency of eigensweep).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const SCRIPT: &str = r#"
import gzip, struct, sys, time, json
import numpy as np, torch
d, n = sys.argv[1], int(sys.argv[2])
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
x = np.frombuffer(imgs[16:], dtype=np.uint8).reshape(cnt, 784).astype(np.float32) / 255.0
y = np.frombuffer(labs[8:], dtype=np.uint8).astype(np.int64)
idx = np.arange(n) % cnt
x, y = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784,100), torch.nn.ReLU(), torch.nn.Linear(100,100), torch.nn.ReLU(), torch.nn.Linear(100,10))
ps = [p for p in model.parameters()]
def hvp(v):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    g = torch.autograd.grad(loss, ps, create_graph=True)
    flat = torch.cat([t.reshape(-1) for t in g])
    return torch.autograd.grad(flat @ v, ps)
v = torch.randn(sum(p.numel() for p in ps))
hvp(v)
best = min((lambda t: (hvp(v), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(3))
print(json.dumps({"seconds": best, "threads": torch.get_num_threads(), "version": torch.__version__}))
"#;

pub(crate) fn measure(mnist_dir: &Path, samples: usize, ours: f64) -> String {
    let available = Command::new("python3")
        .args(["-c", "import torch"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !available {
        return "### PyTorch double-backward HVP\n\nNot measured: `import torch` failed on this machine (torch is not installed).\n\n".into();
    }
    let output = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &mnist_dir.display().to_string(),
            &samples.to_string(),
        ])
        .output();
    let mut report =
        String::from("### PyTorch double-backward HVP (the paper's stack), same data\n\n");
    match output {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let seconds = text
                .split("\"seconds\":")
                .nth(1)
                .and_then(|s| s.split([',', '}']).next())
                .and_then(|s| s.trim().parse::<f64>().ok());
            match seconds {
                Some(s) => {
                    let _ = writeln!(report, "PyTorch: {:.1} ms per product ({}); eigensweep CPU engine: {:.1} ms; ratio **{:.2}×**.\n", s * 1e3, text.trim(), ours * 1e3, s / ours);
                }
                None => {
                    let _ = writeln!(
                        report,
                        "PyTorch ran but printed no timing: {}\n",
                        text.trim()
                    );
                }
            }
        }
        Ok(o) => {
            let _ = writeln!(
                report,
                "PyTorch script failed: {}\n",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Err(e) => {
            let _ = writeln!(report, "Could not run python3: {e}\n");
        }
    }
    report
}
