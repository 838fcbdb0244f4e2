//! The leading eigenvector at the end of training drawn onto the weight matrices (Fig. 16).

use eigensweep_worker::output::{read_table, SnapshotRow};

use super::{chosen_seed, Built, Context};
use crate::heatmap::{Heatmap, HeatmapPanel};
use crate::ReportError;

pub fn eigenvector_map(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(seed) = chosen_seed(ctx, dataset) else {
        return Ok(Built::Missing("no runs".into()));
    };
    let Some(arch) = ctx.inputs.architecture(dataset) else {
        return Ok(Built::Missing(
            "the network's shape is unknown: no runs table records its widths and \
             OUT/sweep.yaml does not give them"
                .into(),
        ));
    };
    let mut panels = Vec::new();
    for optimizer in ctx.inputs.optimizers(dataset) {
        let Some((_, run)) = ctx
            .inputs
            .runs(dataset, &optimizer)
            .into_iter()
            .find(|(_, r)| r.seed == seed)
        else {
            continue;
        };
        let Some(last) = run.snapshots.last() else {
            continue;
        };
        // Only the part holding the last snapshot is read: the eigenvectors of a long run
        // are gigabytes.
        let Some(part) = run
            .snapshot_parts
            .iter()
            .find(|p| p.steps.contains(&last.step))
        else {
            continue;
        };
        let row = read_table::<SnapshotRow>(&part.path)?
            .into_iter()
            .find(|r| r.step == last.step && r.index == 1);
        if let Some(row) = row {
            if row.eigenvector.len() != arch.num_params() {
                return Err(ReportError::data(
                    &part.path,
                    format!(
                        "eigenvector has {} entries, the network of dataset `{dataset}` \
                         ({:?}) {}",
                        row.eigenvector.len(),
                        arch.widths(),
                        arch.num_params()
                    ),
                ));
            }
            panels.push(HeatmapPanel {
                title: format!("{optimizer}, step {}", row.step),
                values: row.eigenvector,
            });
        }
    }
    if panels.is_empty() {
        return Ok(Built::Missing(format!("no final snapshot for seed {seed}")));
    }
    Ok(Built::Heatmap(Heatmap {
        title: format!(
            "Leading eigenvector v_{{1}} at the end of training, seed {seed} — {dataset}"
        ),
        arch,
        panels,
    }))
}
