//! The `optimizers` section: every field checked against its kind, defaults resolved
//! (PyTorch's), the learning-rate schedule resolved against `training.steps`.

use super::checker::Checker;
use super::error::fmt_number;
use super::grid::OptimizerEntry;
use super::optimizer_spec::{LrScheduleKind, LrScheduleSpec, OptimizerKind, OptimizerSpec};
use super::resolved::{NamedOptimizer, OptimizerConfig};
use crate::optim::{
    AdamConfig, BaseOptimizer, LrDecay, LrSchedule, RmspropConfig, SamConfig, SgdConfig,
};

/// The settings each base kind takes (besides `lr`, which all take).
fn settings_of(kind: OptimizerKind) -> &'static [&'static str] {
    match kind {
        OptimizerKind::Sgd => &["momentum", "dampening", "nesterov", "weight_decay"],
        OptimizerKind::Adam | OptimizerKind::Adamw => &["beta1", "beta2", "eps", "weight_decay"],
        OptimizerKind::Rmsprop => &["alpha", "eps", "momentum", "centered", "weight_decay"],
        OptimizerKind::Sam => &["rho", "base"],
    }
}

/// Most variants one sweep's optimiser grids may expand to: a typo in a list should be an
/// error, not a sweep of a million runs.
pub const MAX_OPTIMIZER_VARIANTS: usize = 10_000;

pub(super) fn check_optimizers(
    c: &mut Checker,
    entries: &[OptimizerEntry],
    total_steps: u64,
) -> Vec<NamedOptimizer> {
    c.non_empty("optimizers", entries.is_empty(), "at least one optimizer");
    // Each entry's variants, with the path of each of its fields (a listed field's path
    // points at the variant's element of the list).
    let mut variants = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        // Counted before any is built: a typo in a list must not exhaust memory.
        let count = entry.variant_count().unwrap_or(usize::MAX);
        if count > MAX_OPTIMIZER_VARIANTS.saturating_sub(variants.len()) {
            c.fail(
                format!("optimizers[{i}]"),
                "",
                format!(
                    "the optimizer grids expand to more than {MAX_OPTIMIZER_VARIANTS} variants \
                     (this entry alone: {})",
                    entry
                        .variant_count()
                        .map_or("more than 2^64".to_string(), |n| n.to_string())
                ),
            );
            return Vec::new();
        }
        variants.extend(entry.variants().into_iter().map(|v| (i, v)));
    }
    // Variant names are partition values: unique over the whole sweep.
    let mut first: std::collections::HashMap<&str, usize> = Default::default();
    for (i, v) in &variants {
        match first.get(v.spec.name.as_str()) {
            Some(&j) => c.fail(
                format!("optimizers[{i}].name"),
                v.spec.name.clone(),
                format!("expected a unique optimizer name (optimizers[{j}] has it too)"),
            ),
            None => {
                first.insert(&v.spec.name, *i);
            }
        }
    }
    let mut resolved = Vec::with_capacity(variants.len());
    for (i, v) in &variants {
        let at = |field: &str| match v.listed.iter().find(|(f, _)| *f == field) {
            Some((_, j)) => format!("optimizers[{i}].{field}[{j}]"),
            None => format!("optimizers[{i}].{field}"),
        };
        resolved.push(check_variant(c, &at, &v.spec, total_steps));
    }
    resolved
}

/// One variant: its fields against its kind, its defaults, its schedule.
fn check_variant(
    c: &mut Checker,
    at: &dyn Fn(&str) -> String,
    o: &OptimizerSpec,
    total_steps: u64,
) -> NamedOptimizer {
    c.name(&at("name"), &o.name);
    let base_kind = match (o.kind, o.base) {
        (OptimizerKind::Sam, None) => OptimizerKind::Sgd,
        (OptimizerKind::Sam, Some(OptimizerKind::Sam)) => {
            c.fail(
                at("base"),
                "sam",
                "expected sgd, adam, adamw or rmsprop (SAM cannot wrap SAM)",
            );
            OptimizerKind::Sgd
        }
        (OptimizerKind::Sam, Some(base)) => base,
        (kind, _) => kind,
    };
    let mut takes = vec!["lr"];
    takes.extend_from_slice(settings_of(base_kind));
    if o.kind == OptimizerKind::Sam {
        takes.extend_from_slice(settings_of(OptimizerKind::Sam));
    }
    for (field, value) in o.given_settings() {
        if !takes.contains(&field) {
            let kind = match o.kind {
                OptimizerKind::Sam => format!("sam on {}", base_kind.name()),
                kind => kind.name().to_string(),
            };
            c.fail(
                at(field),
                value,
                format!(
                    "not a setting of kind {kind} (it takes {}, batch_size, lr_schedule)",
                    takes.join(", ")
                ),
            );
        }
    }
    if let Some(b) = o.batch_size {
        c.at_least(&at("batch_size"), b as u64, 1);
    }

    let base = check_base(c, at, base_kind, o);
    let config = match o.kind {
        OptimizerKind::Sam => {
            let rho = o.rho.unwrap_or(SamConfig::default().rho);
            c.positive(&at("rho"), rho);
            OptimizerConfig::Sam(SamConfig { rho, base })
        }
        _ => match base {
            BaseOptimizer::Sgd(b) => OptimizerConfig::Sgd(b),
            BaseOptimizer::Adam(b) => OptimizerConfig::Adam(b),
            BaseOptimizer::Rmsprop(b) => OptimizerConfig::Rmsprop(b),
        },
    };
    let schedule = match &o.lr_schedule {
        Some(spec) => check_schedule(c, &at("lr_schedule"), spec, base.lr(), total_steps),
        None => LrSchedule::default(),
    };
    NamedOptimizer {
        name: o.name.clone(),
        config,
        schedule,
        batch_size: o.batch_size,
    }
}

/// The rule that takes the steps, `kind` (never SAM) with `o`'s settings over its defaults.
fn check_base(
    c: &mut Checker,
    at: &dyn Fn(&str) -> String,
    kind: OptimizerKind,
    o: &OptimizerSpec,
) -> BaseOptimizer {
    let weight_decay = |c: &mut Checker, default: f64| {
        let wd = o.weight_decay.unwrap_or(default);
        c.non_negative(&at("weight_decay"), wd);
        wd
    };
    let momentum = |c: &mut Checker| {
        let m = o.momentum.unwrap_or(0.0);
        c.in_unit(&at("momentum"), m, false);
        m
    };
    match kind {
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            let decoupled = kind == OptimizerKind::Adamw;
            let d = if decoupled {
                AdamConfig::adamw()
            } else {
                AdamConfig::default()
            };
            let lr = o.lr.unwrap_or(d.lr);
            c.positive(&at("lr"), lr);
            let (beta1, beta2, eps) = (
                o.beta1.unwrap_or(d.beta1),
                o.beta2.unwrap_or(d.beta2),
                o.eps.unwrap_or(d.eps),
            );
            c.open_unit(&at("beta1"), beta1);
            c.open_unit(&at("beta2"), beta2);
            c.positive(&at("eps"), eps);
            BaseOptimizer::Adam(AdamConfig {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay: weight_decay(c, d.weight_decay),
                decoupled,
            })
        }
        OptimizerKind::Rmsprop => {
            let d = RmspropConfig::default();
            let lr = o.lr.unwrap_or(d.lr);
            c.positive(&at("lr"), lr);
            let (alpha, eps) = (o.alpha.unwrap_or(d.alpha), o.eps.unwrap_or(d.eps));
            c.in_unit(&at("alpha"), alpha, false);
            c.positive(&at("eps"), eps);
            BaseOptimizer::Rmsprop(RmspropConfig {
                lr,
                alpha,
                eps,
                weight_decay: weight_decay(c, d.weight_decay),
                momentum: momentum(c),
                centered: o.centered.unwrap_or(d.centered),
            })
        }
        // SGD, and the fallback when a SAM's base was refused above.
        OptimizerKind::Sgd | OptimizerKind::Sam => {
            let d = SgdConfig::default();
            let lr = o.lr.unwrap_or(d.lr);
            c.positive(&at("lr"), lr);
            let momentum = momentum(c);
            let dampening = o.dampening.unwrap_or(d.dampening);
            c.in_unit(&at("dampening"), dampening, true);
            let nesterov = o.nesterov.unwrap_or(d.nesterov);
            if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                c.fail(
                    at("nesterov"),
                    "true",
                    format!(
                        "Nesterov momentum needs momentum > 0 and dampening 0 (got momentum {}, \
                         dampening {})",
                        fmt_number(momentum),
                        fmt_number(dampening)
                    ),
                );
            }
            BaseOptimizer::Sgd(SgdConfig {
                lr,
                momentum,
                dampening,
                nesterov,
                weight_decay: weight_decay(c, d.weight_decay),
            })
        }
    }
}

/// A schedule for base rate `lr` over `total_steps` training steps.
fn check_schedule(
    c: &mut Checker,
    at: &str,
    spec: &LrScheduleSpec,
    lr: f64,
    total_steps: u64,
) -> LrSchedule {
    let field = |f: &str| format!("{at}.{f}");
    let warmup_steps = spec.warmup_steps.unwrap_or(0);
    if warmup_steps >= total_steps.max(1) {
        c.fail(
            field("warmup_steps"),
            warmup_steps.to_string(),
            format!("expected fewer than training.steps ({total_steps})"),
        );
    }
    let (allowed, takes): (&[&str], &str) = match spec.kind {
        LrScheduleKind::Constant => (&[], "warmup_steps"),
        LrScheduleKind::Step => (&["every", "gamma"], "warmup_steps, every, gamma"),
        LrScheduleKind::Cosine => (&["min_lr"], "warmup_steps, min_lr"),
    };
    let kind = match spec.kind {
        LrScheduleKind::Constant => "constant",
        LrScheduleKind::Step => "step",
        LrScheduleKind::Cosine => "cosine",
    };
    for (name, value) in [
        ("every", spec.every.map(|e| e.to_string())),
        ("gamma", spec.gamma.map(fmt_number)),
        ("min_lr", spec.min_lr.map(fmt_number)),
    ] {
        if let (Some(v), false) = (value, allowed.contains(&name)) {
            c.fail(
                field(name),
                v,
                format!("not a setting of schedule kind {kind} (it takes {takes})"),
            );
        }
    }
    let decay = match spec.kind {
        LrScheduleKind::Constant => LrDecay::Constant,
        LrScheduleKind::Step => {
            let every = match spec.every {
                Some(every) => {
                    c.at_least(&field("every"), every, 1);
                    every
                }
                None => {
                    c.fail(
                        field("every"),
                        "",
                        "schedule kind step needs `every`: the steps between decays",
                    );
                    1
                }
            };
            let gamma = spec.gamma.unwrap_or(0.1);
            c.positive(&field("gamma"), gamma);
            LrDecay::Step { every, gamma }
        }
        LrScheduleKind::Cosine => {
            let min_lr = spec.min_lr.unwrap_or(0.0);
            if !(min_lr.is_finite() && (0.0..=lr).contains(&min_lr)) {
                c.fail(
                    field("min_lr"),
                    fmt_number(min_lr),
                    format!("expected a number in [0, lr = {}]", fmt_number(lr)),
                );
            }
            LrDecay::Cosine {
                min_lr,
                steps: total_steps.saturating_sub(warmup_steps).max(1),
            }
        }
    };
    LrSchedule {
        warmup_steps,
        decay,
    }
}
