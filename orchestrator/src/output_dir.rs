//! The `OUT` argument of the commands that read what a sweep wrote (`analyze`, `minima`,
//! `report`, `status`): checked once, before anything else, so that each says the same thing
//! about a path that is not a directory, and a sweep file given in its place (the usual slip:
//! `eigensweep analyze sweeps/quickstart.yaml`) is named as one, with its output directory.

use std::path::Path;

use eigensweep_common::exit_codes;
use eigensweep_common::sweep::{read_sweep, Overrides};

use crate::failure::Failure;

/// Refuses `out` unless it is a directory (exit 3, [`INPUT`](exit_codes::INPUT)): a file is
/// named as a file, and a sweep file's message names the directory its runs write to,
/// as the command to type.
pub(crate) fn require_output_dir(command: &str, out: &Path) -> Result<(), Failure> {
    if out.is_dir() {
        return Ok(());
    }
    let shown = out.display();
    let message = if !out.exists() {
        format!("{shown} is not a sweep output directory: no such directory")
    } else if let Ok(sweep) = read_sweep(out, &Overrides::default()) {
        let dir = sweep.resolved().output.clone();
        let state = if dir.is_dir() {
            String::new()
        } else {
            format!(" (not written yet: `eigensweep run {shown}` writes it)")
        };
        format!(
            "{shown} is a sweep file, not a sweep output directory: `eigensweep {command}` \
             takes the directory the sweep's runs write, here `eigensweep {command} {}`{state}",
            dir.display()
        )
    } else {
        format!(
            "{shown} is a file, not a sweep output directory: `eigensweep {command}` takes the \
             directory a sweep's runs wrote (the `output` of its sweep file, or `run --out`)"
        )
    };
    Err(Failure {
        code: exit_codes::INPUT,
        error: anyhow::anyhow!(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(command: &str, out: &Path) -> String {
        let failure = require_output_dir(command, out).unwrap_err();
        assert_eq!(failure.code, exit_codes::INPUT);
        failure.error.to_string()
    }

    #[test]
    fn a_file_is_named_as_one_and_a_sweep_file_with_its_output() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(require_output_dir("analyze", tmp.path()).is_ok());
        let missing = tmp.path().join("missing");
        assert!(message("status", &missing).ends_with("no such directory"));

        let notes = tmp.path().join("notes.txt");
        std::fs::write(&notes, "hello").unwrap();
        let m = message("report", &notes);
        assert!(
            m.contains("notes.txt is a file, not a sweep output directory: `eigensweep report`"),
            "{m}"
        );

        let out = tmp.path().join("o");
        let sweep = tmp.path().join("s.yaml");
        std::fs::write(
            &sweep,
            format!(
                "name: s\noutput: {}\ndatasets: [{{name: d, source: synthetic}}]\n\
                 training: {{steps: 4}}\noptimizers: [{{name: sgd, kind: sgd}}]\nseeds: [0]\n\
                 snapshots: {{schedule: {{every: 2}}}}\n",
                out.display()
            ),
        )
        .unwrap();
        let m = message("analyze", &sweep);
        assert!(
            m.contains(&format!(
                "s.yaml is a sweep file, not a sweep output directory: `eigensweep analyze` \
                 takes the directory the sweep's runs write, here `eigensweep analyze {}` (not \
                 written yet",
                out.display()
            )),
            "{m}"
        );
        std::fs::create_dir(&out).unwrap();
        assert!(message("analyze", &sweep).ends_with(&format!("{}`", out.display())));
    }
}
