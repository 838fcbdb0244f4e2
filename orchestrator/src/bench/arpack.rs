//! ARPACK — through `scipy.sparse.linalg.eigsh`, the paper's eigensolver — on the very operator
//! eigensweep solves, so that product counts compare like for like (issue 12: "cold ≤ ARPACK's
//! product count on the same operator").
//!
//! Why a bridge rather than the paper's whole stack: the count of Hessian-vector products is a
//! property of the solver, not of the framework computing them, and PyTorch's products differ
//! from ours by f32 rounding. Here `python3` runs `eigsh` on a `LinearOperator` whose `matvec`
//! sends the vector down a pipe; eigensweep multiplies it by its own Hessian and sends the
//! product back. Only `numpy` and `scipy` are needed (not torch).
//!
//! Protocol on the child's stdout: `V` + `n` little-endian f64 (a product request, answered
//! on its stdin with `n` f64), or `R` + one JSON line (the result).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use eigensweep_worker::eigen::SymmetricOperator;

const SCRIPT: &str = r#"
import sys, json
import numpy as np
from scipy.sparse.linalg import eigsh, LinearOperator
n, k, tol, seed = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
out, inp = sys.stdout.buffer, sys.stdin.buffer
def matvec(v):
    out.write(b"V" + np.ascontiguousarray(v, dtype="<f8").reshape(-1).tobytes()); out.flush()
    raw = inp.read(8 * n)
    if len(raw) != 8 * n:
        sys.exit("eigensweep closed the pipe")
    return np.frombuffer(raw, dtype="<f8").copy()
v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
vals, vecs = eigsh(op, k=k, which="LA", tol=tol, v0=v0)
order = np.argsort(vals)[::-1]
res = {"values": [float(x) for x in vals[order]]}
out.write(b"R" + json.dumps(res).encode() + b"\n"); out.flush()
"#;

/// One ARPACK solve.
pub(crate) struct ArpackSolve {
    /// Operator products ARPACK asked for (counted on our side of the pipe).
    pub products: usize,
    /// The `k` largest-algebraic eigenvalues, descending.
    pub values: Vec<f64>,
    /// Wall time, products included.
    pub seconds: f64,
}

/// `Some(scipy version)` when `python3` can import numpy and scipy.
pub(crate) fn available() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import numpy, scipy; print(scipy.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `eigsh(op, k, which="LA", tol, v0 = seeded uniform)` with products served by `op`.
///
/// Errors: python3 cannot start, the script fails (its stderr is quoted), or the operator fails.
pub(crate) fn solve(
    op: &mut dyn SymmetricOperator,
    k: usize,
    tol: f64,
    seed: u64,
) -> anyhow::Result<ArpackSolve> {
    let n = op.dim();
    let clock = Instant::now();
    let mut child = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &n.to_string(),
            &k.to_string(),
            &tol.to_string(),
            &seed.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting python3 for the ARPACK comparison")?;
    let mut to_child = child.stdin.take().ok_or_else(|| anyhow!("no stdin pipe"))?;
    let mut from_child = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout pipe"))?,
    );
    let mut products = 0;
    let mut bytes = vec![0u8; 8 * n];
    let mut v = vec![0.0f64; n];
    let mut av = vec![0.0f64; n];
    let outcome: anyhow::Result<Vec<f64>> = loop {
        let mut tag = [0u8; 1];
        if from_child.read_exact(&mut tag).is_err() {
            break Err(anyhow!("the eigsh script ended without a result"));
        }
        match tag[0] {
            b'V' => {
                from_child.read_exact(&mut bytes)?;
                for (x, b) in v.iter_mut().zip(bytes.chunks_exact(8)) {
                    *x = f64::from_le_bytes(b.try_into().expect("8 bytes"));
                }
                op.apply_block(&v, &mut av, 1)
                    .map_err(|e| anyhow!("Hessian-vector product for ARPACK: {e}"))?;
                products += 1;
                for (b, x) in bytes.chunks_exact_mut(8).zip(&av) {
                    b.copy_from_slice(&x.to_le_bytes());
                }
                to_child.write_all(&bytes)?;
                to_child.flush()?;
            }
            b'R' => {
                let mut line = String::new();
                from_child.read_line(&mut line)?;
                let json: serde_json::Value =
                    serde_json::from_str(&line).context("reading the eigsh result")?;
                let values = json["values"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                    .unwrap_or_default();
                break Ok(values);
            }
            other => break Err(anyhow!("unexpected byte {other} from the eigsh script")),
        }
    };
    drop(to_child);
    let output = child.wait_with_output()?;
    let values = match outcome {
        Ok(r) if output.status.success() => r,
        Ok(_) | Err(_) => bail!(
            "scipy eigsh failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    };
    if values.len() != k {
        bail!(
            "scipy eigsh returned {} eigenvalues, expected {k}",
            values.len()
        );
    }
    Ok(ArpackSolve {
        products,
        values,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eigensweep_worker::eigen::DiagonalOperator;

    /// The bridge against a closed form: a diagonal operator's top eigenvalues are its
    /// largest entries. Skipped (with a message) where python3 lacks scipy, unless
    /// `EIGENSWEEP_REQUIRE_SCIPY` is set (CI), where that is a failure.
    #[test]
    fn arpack_bridge_finds_the_largest_diagonal_entries() {
        if available().is_none() {
            assert!(
                std::env::var_os("EIGENSWEEP_REQUIRE_SCIPY").is_none(),
                "EIGENSWEEP_REQUIRE_SCIPY is set but python3 cannot import numpy and scipy"
            );
            eprintln!("skipped: python3 cannot import numpy and scipy");
            return;
        }
        let diag: Vec<f64> = (0..300)
            .map(|i| (i as f64 * 0.37).sin() + i as f64 / 300.0)
            .collect();
        let mut sorted = diag.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let mut op = DiagonalOperator::new(diag);
        let got = solve(&mut op, 3, 1e-10, 5).unwrap();
        assert!(got.products >= 3);
        for (g, want) in got.values.iter().zip(&sorted) {
            assert!((g - want).abs() < 1e-8, "{g} vs {want}");
        }
    }
}
