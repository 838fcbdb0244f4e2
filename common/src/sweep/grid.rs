//! Optimiser grids: an `optimizers` entry whose settings may be lists ([`OptimizerEntry`]),
//! and its expansion into named variants, each one [`OptimizerSpec`].

use serde::{Deserialize, Serialize};

use super::optimizer_spec::{LrScheduleSpec, OptimizerKind, OptimizerSpec};

/// A setting that is one value, or a list of values to sweep over.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Grid<T> {
    /// One value.
    One(T),
    /// Every value of the list, each a variant.
    Many(Vec<T>),
}

impl<T> Grid<T> {
    /// The values, in order (one for [`Grid::One`]).
    pub fn values(&self) -> &[T] {
        match self {
            Grid::One(x) => std::slice::from_ref(x),
            Grid::Many(xs) => xs,
        }
    }

    /// Whether the setting was written as a list.
    pub fn is_list(&self) -> bool {
        matches!(self, Grid::Many(_))
    }
}

/// A list is read as a list of `T`, anything else as one `T`, so that a wrong value gets
/// `T`'s own message ("expected a number") rather than a generic one.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Grid<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_yaml::Value::deserialize(d)?;
        if value.as_sequence().is_some_and(|s| s.is_empty()) {
            Err(D::Error::custom(
                "expected a value or a non-empty list of values, got []",
            ))
        } else if value.is_sequence() {
            Vec::<T>::deserialize(value)
                .map(Grid::Many)
                .map_err(D::Error::custom)
        } else {
            T::deserialize(value)
                .map(Grid::One)
                .map_err(D::Error::custom)
        }
    }
}

/// One entry of `optimizers` as written: an [`OptimizerSpec`] whose settings may be lists. The
/// entry stands for the product of its lists, each combination a variant named after the
/// entry and its listed values (`{name: adam, kind: adam, lr: [1e-3, 3e-4], weight_decay: [0,
/// 0.1]}` → `adam-lr1e-3-wd0`, `adam-lr1e-3-wd0.1`, `adam-lr3e-4-wd0`, …; see
/// [`OptimizerEntry::variants`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerEntry {
    /// The `optimizer=` partition value, or the prefix of its variants' names.
    pub name: String,
    /// sgd, adam, adamw, rmsprop or sam.
    pub kind: OptimizerKind,
    /// See [`OptimizerSpec::lr`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<Grid<f64>>,
    /// See [`OptimizerSpec::beta1`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<Grid<f64>>,
    /// See [`OptimizerSpec::beta2`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<Grid<f64>>,
    /// See [`OptimizerSpec::eps`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<Grid<f64>>,
    /// See [`OptimizerSpec::rho`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rho: Option<Grid<f64>>,
    /// See [`OptimizerSpec::momentum`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<Grid<f64>>,
    /// See [`OptimizerSpec::dampening`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dampening: Option<Grid<f64>>,
    /// See [`OptimizerSpec::nesterov`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nesterov: Option<Grid<bool>>,
    /// See [`OptimizerSpec::weight_decay`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<Grid<f64>>,
    /// See [`OptimizerSpec::alpha`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<Grid<f64>>,
    /// See [`OptimizerSpec::centered`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centered: Option<Grid<bool>>,
    /// See [`OptimizerSpec::base`] (one kind, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<OptimizerKind>,
    /// See [`OptimizerSpec::batch_size`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<Grid<usize>>,
    /// See [`OptimizerSpec::lr_schedule`] (one schedule, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<LrScheduleSpec>,
}

/// One variant of an [`OptimizerEntry`]: its settings, and which of them came from a list
/// (field, index in the list), for naming it and for placing errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The settings, every one a single value; `name` is the variant's.
    pub spec: OptimizerSpec,
    /// The listed fields and the index of this variant's value in each list.
    pub listed: Vec<(&'static str, usize)>,
}

/// Short field names in variant names (`weight_decay` → `wd`).
fn short_field(field: &str) -> &str {
    match field {
        "weight_decay" => "wd",
        "momentum" => "mom",
        "dampening" => "damp",
        "batch_size" => "bs",
        "beta1" => "b1",
        "beta2" => "b2",
        other => other,
    }
}

/// A number as short as it reads: `0.001`, `3e-4`, `0.9`, `128`.
pub(crate) fn short_number(x: f64) -> String {
    let plain = super::error::fmt_number(x);
    let sci = format!("{x:e}");
    if sci.len() < plain.len() {
        sci
    } else {
        plain
    }
}

impl OptimizerEntry {
    /// How many variants [`OptimizerEntry::variants`] gives, without building them; `None`
    /// when the product overflows.
    pub fn variant_count(&self) -> Option<usize> {
        let len = |g: Option<usize>| g.unwrap_or(1);
        [
            self.lr.as_ref().map(|g| g.values().len()),
            self.beta1.as_ref().map(|g| g.values().len()),
            self.beta2.as_ref().map(|g| g.values().len()),
            self.eps.as_ref().map(|g| g.values().len()),
            self.rho.as_ref().map(|g| g.values().len()),
            self.momentum.as_ref().map(|g| g.values().len()),
            self.dampening.as_ref().map(|g| g.values().len()),
            self.nesterov.as_ref().map(|g| g.values().len()),
            self.weight_decay.as_ref().map(|g| g.values().len()),
            self.alpha.as_ref().map(|g| g.values().len()),
            self.centered.as_ref().map(|g| g.values().len()),
            self.batch_size.as_ref().map(|g| g.values().len()),
        ]
        .into_iter()
        .try_fold(1usize, |n, g| n.checked_mul(len(g)))
    }

    /// Every combination of the listed settings, first field outermost, in the lists' order.
    /// A variant is named `NAME-FIELDVALUE-…` over its listed fields only (`lr3e-4`, `wd0`,
    /// `bs64`, `nesterov_on`), so adding a value to a list or another entry leaves the other
    /// variants' names, and so their keys, as they were. An entry without lists is one
    /// variant named `NAME`.
    pub fn variants(&self) -> Vec<Variant> {
        let mut first = OptimizerSpec::new(self.name.clone(), self.kind);
        first.base = self.base;
        first.lr_schedule = self.lr_schedule;
        let mut variants = vec![Variant {
            spec: first,
            listed: Vec::new(),
        }];
        let number = |x: f64| short_number(x);
        let flag = |b: bool| format!("_{}", if b { "on" } else { "off" });
        type Set<V> = fn(&mut OptimizerSpec, V);
        let numbers: [(&'static str, &Option<Grid<f64>>, Set<f64>); 7] = [
            ("lr", &self.lr, |s, v| s.lr = Some(v)),
            ("beta1", &self.beta1, |s, v| s.beta1 = Some(v)),
            ("beta2", &self.beta2, |s, v| s.beta2 = Some(v)),
            ("eps", &self.eps, |s, v| s.eps = Some(v)),
            ("rho", &self.rho, |s, v| s.rho = Some(v)),
            ("momentum", &self.momentum, |s, v| s.momentum = Some(v)),
            ("dampening", &self.dampening, |s, v| s.dampening = Some(v)),
        ];
        for (field, grid, set) in numbers {
            variants = expand(variants, field, grid, set, number);
        }
        variants = expand(
            variants,
            "nesterov",
            &self.nesterov,
            |s, v| s.nesterov = Some(v),
            flag,
        );
        let numbers: [(&'static str, &Option<Grid<f64>>, Set<f64>); 2] = [
            ("weight_decay", &self.weight_decay, |s, v| {
                s.weight_decay = Some(v)
            }),
            ("alpha", &self.alpha, |s, v| s.alpha = Some(v)),
        ];
        for (field, grid, set) in numbers {
            variants = expand(variants, field, grid, set, number);
        }
        variants = expand(
            variants,
            "centered",
            &self.centered,
            |s, v| s.centered = Some(v),
            flag,
        );
        expand(
            variants,
            "batch_size",
            &self.batch_size,
            |s, v| s.batch_size = Some(v),
            |b: usize| b.to_string(),
        )
    }
}

/// `variants` × the values of one field: each variant once per value, named after it when the
/// field is a list; unchanged when the field is absent.
fn expand<V: Copy>(
    variants: Vec<Variant>,
    field: &'static str,
    grid: &Option<Grid<V>>,
    set: fn(&mut OptimizerSpec, V),
    label: impl Fn(V) -> String,
) -> Vec<Variant> {
    let Some(grid) = grid else {
        return variants;
    };
    let mut out = Vec::with_capacity(variants.len() * grid.values().len());
    for v in variants {
        for (j, &value) in grid.values().iter().enumerate() {
            let mut next = v.clone();
            set(&mut next.spec, value);
            if grid.is_list() {
                next.listed.push((field, j));
                next.spec.name =
                    format!("{}-{}{}", next.spec.name, short_field(field), label(value));
            }
            out.push(next);
        }
    }
    out
}

impl From<OptimizerSpec> for OptimizerEntry {
    /// A single-variant entry with `spec`'s settings.
    fn from(spec: OptimizerSpec) -> Self {
        let one = |x: Option<f64>| x.map(Grid::One);
        Self {
            name: spec.name,
            kind: spec.kind,
            lr: one(spec.lr),
            beta1: one(spec.beta1),
            beta2: one(spec.beta2),
            eps: one(spec.eps),
            rho: one(spec.rho),
            momentum: one(spec.momentum),
            dampening: one(spec.dampening),
            nesterov: spec.nesterov.map(Grid::One),
            weight_decay: one(spec.weight_decay),
            alpha: one(spec.alpha),
            centered: spec.centered.map(Grid::One),
            base: spec.base,
            batch_size: spec.batch_size.map(Grid::One),
            lr_schedule: spec.lr_schedule,
        }
    }
}
