//! Where a run's tensors live: the `--device` option and the sweep file's `device` field.
//!
//! `cpu` is the default. `cuda` asks for a GPU and lets the launcher pick which: the
//! node-local MPI rank modulo the visible GPUs under `mpirun`/`srun`, the job slot modulo the
//! visible GPUs without MPI, so that the ranks (or jobs) of one node spread over its GPUs.
//! `cuda:N` names the ordinal among the visible GPUs (`CUDA_VISIBLE_DEVICES` renumbers them
//! from 0). Opening the device is the worker's job (`eigensweep_worker::device`); this type only
//! says what was asked for, so that the sweep file can be validated without a GPU or the
//! `cuda` feature.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A device request: `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceRequest {
    /// The host CPU (default).
    #[default]
    Cpu,
    /// A CUDA GPU; `None` lets the launcher choose (local rank or job slot mod GPUs).
    Cuda(Option<usize>),
}

impl DeviceRequest {
    /// Whether this asks for a GPU.
    pub fn is_cuda(&self) -> bool {
        matches!(self, Self::Cuda(_))
    }

    /// The CUDA ordinal for a worker in `slot` (node-local rank or job index) when `visible`
    /// GPUs are visible: the explicit ordinal, or `slot mod visible`. `None` for the CPU, and
    /// for `cuda` with no visible GPU.
    pub fn ordinal(&self, slot: usize, visible: usize) -> Option<usize> {
        match *self {
            Self::Cpu => None,
            Self::Cuda(Some(n)) => Some(n),
            Self::Cuda(None) => (visible > 0).then(|| slot % visible),
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(None) => f.write_str("cuda"),
            Self::Cuda(Some(n)) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for DeviceRequest {
    type Err = crate::CommonError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::CommonError::UnknownDevice { value: s.into() };
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(None)),
            other => {
                let n = other.strip_prefix("cuda:").ok_or_else(bad)?;
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                n.parse().map(|n| Self::Cuda(Some(n))).map_err(|_| bad())
            }
        }
    }
}

impl Serialize for DeviceRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_prints_them_back() {
        for (text, want) in [
            ("cpu", DeviceRequest::Cpu),
            ("cuda", DeviceRequest::Cuda(None)),
            ("CUDA:3", DeviceRequest::Cuda(Some(3))),
            ("gpu", DeviceRequest::Cuda(None)),
        ] {
            let got: DeviceRequest = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string().parse::<DeviceRequest>().unwrap(), want);
        }
    }

    #[test]
    fn rejects_anything_else_naming_the_value() {
        for text in [
            "", "cuda:", "cuda:-1", "cuda:x", "cuda0", "tpu", "cuda:1:2", "metal",
        ] {
            let err = text.parse::<DeviceRequest>().unwrap_err();
            assert!(
                matches!(&err, crate::CommonError::UnknownDevice { value } if value == text),
                "{err:?}"
            );
            assert!(err
                .to_string()
                .contains("expected `cpu`, `cuda` or `cuda:N`"));
        }
    }

    #[test]
    fn launcher_slot_picks_the_ordinal_modulo_the_visible_gpus() {
        let any = DeviceRequest::Cuda(None);
        assert_eq!(any.ordinal(0, 4), Some(0));
        assert_eq!(any.ordinal(5, 4), Some(1));
        assert_eq!(any.ordinal(3, 0), None);
        assert_eq!(DeviceRequest::Cuda(Some(2)).ordinal(7, 4), Some(2));
        assert_eq!(DeviceRequest::Cpu.ordinal(1, 4), None);
    }
}
