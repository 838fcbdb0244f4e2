//! Opening the device a run computes on, from a [`DeviceRequest`] (`cpu`, `cuda`, `cuda:N`).
//!
//! The request is resolved once per task, on the thread that runs it, and the opened
//! [`Device`] travels in the task's plan ([`RunPlan`](crate::run::RunPlan),
//! [`BaselinePlan`](crate::run::BaselinePlan)) to everything that makes tensors: the training
//! set, the parameters, the optimiser state, the Hessian operator and the evaluations. What
//! stays on the host whatever the device: the eigensolver's small dense work (Rayleigh–Ritz,
//! orthogonalisation) and the per-snapshot statistics, which receive only vectors of N floats
//! per Hessian-vector product.
//!
//! A CUDA request never falls back to the CPU: a build without the `cuda` feature, a machine
//! whose driver reports no GPU and an ordinal beyond the visible GPUs are each a
//! [`WorkerError`] ([`WorkerError::CudaNotBuilt`], [`WorkerError::NoGpu`],
//! [`WorkerError::GpuOrdinalOutOfRange`]) that says what was asked for and what was found.

use candle_core::Device;
use eigensweep_common::device::DeviceRequest;

use crate::WorkerError;

/// An opened device and how to name it in logs and tables.
#[derive(Debug, Clone)]
pub struct OpenedDevice {
    /// The device tensors are made on.
    pub device: Device,
    /// `cpu`, or `cuda:N (NAME)` with the GPU's name as the driver reports it.
    pub label: String,
}

/// `CUDA_VISIBLE_DEVICES` for messages.
fn visible_env() -> String {
    std::env::var("CUDA_VISIBLE_DEVICES").unwrap_or_else(|_| "(unset)".into())
}

/// Whether this binary was built with the `cuda` feature.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// The number of GPUs the CUDA driver makes visible (after `CUDA_VISIBLE_DEVICES`).
///
/// # Errors
/// [`WorkerError::CudaNotBuilt`] without the `cuda` feature; [`WorkerError::NoGpu`] when the
/// driver cannot be initialised (no driver, no GPU).
pub fn visible_gpus() -> Result<usize, WorkerError> {
    let requested = DeviceRequest::Cuda(None);
    #[cfg(feature = "cuda")]
    {
        use candle_core::cuda::cudarc::driver::CudaContext;
        match CudaContext::device_count() {
            Ok(n) if n > 0 => Ok(n as usize),
            Ok(_) => Err(WorkerError::NoGpu {
                requested,
                cause: "the driver reports 0 devices".into(),
                visible_env: visible_env(),
            }),
            Err(e) => Err(WorkerError::NoGpu {
                requested,
                cause: format!("CUDA driver: {e}"),
                visible_env: visible_env(),
            }),
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(WorkerError::CudaNotBuilt { requested })
    }
}

/// Opens `request` for a worker in `slot` (the node-local MPI rank, or the job index without
/// MPI): `cuda` takes ordinal `slot mod visible GPUs`.
///
/// # Errors
/// [`WorkerError::CudaNotBuilt`], [`WorkerError::NoGpu`],
/// [`WorkerError::GpuOrdinalOutOfRange`] or [`WorkerError::GpuOpen`]; the CPU always opens.
pub fn open(request: DeviceRequest, slot: usize) -> Result<OpenedDevice, WorkerError> {
    if request == DeviceRequest::Cpu {
        return Ok(OpenedDevice {
            device: Device::Cpu,
            label: "cpu".into(),
        });
    }
    if !CUDA_BUILT {
        return Err(WorkerError::CudaNotBuilt { requested: request });
    }
    let visible = visible_gpus().map_err(|e| match e {
        WorkerError::NoGpu {
            cause, visible_env, ..
        } => WorkerError::NoGpu {
            requested: request,
            cause,
            visible_env,
        },
        other => other,
    })?;
    let ordinal = request
        .ordinal(slot, visible)
        .expect("a CUDA request with visible GPUs has an ordinal");
    if ordinal >= visible {
        return Err(WorkerError::GpuOrdinalOutOfRange {
            requested: request,
            ordinal,
            visible,
            visible_env: visible_env(),
        });
    }
    open_cuda(ordinal)
}

#[cfg(feature = "cuda")]
fn open_cuda(ordinal: usize) -> Result<OpenedDevice, WorkerError> {
    let open_err = |e: &dyn std::fmt::Display| WorkerError::GpuOpen {
        ordinal,
        cause: e.to_string(),
    };
    // Each call makes a device on the calling thread's per-thread stream: runs sharing a GPU
    // from different worker threads overlap instead of queueing on one stream.
    let device = Device::new_cuda(ordinal).map_err(|e| open_err(&e))?;
    let name = device
        .as_cuda_device()
        .ok()
        .and_then(|d| d.cuda_stream().context().name().ok())
        .unwrap_or_else(|| "unnamed GPU".into());
    Ok(OpenedDevice {
        device,
        label: format!("cuda:{ordinal} ({name})"),
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(_ordinal: usize) -> Result<OpenedDevice, WorkerError> {
    Err(WorkerError::CudaNotBuilt {
        requested: DeviceRequest::Cuda(Some(_ordinal)),
    })
}

/// `cpu` or `cuda:N` for an already opened device (no name lookup).
pub fn short_label(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_always_opens() {
        let d = open(DeviceRequest::Cpu, 3).unwrap();
        assert!(d.device.is_cpu());
        assert_eq!(d.label, "cpu");
        assert_eq!(short_label(&d.device), "cpu");
    }

    /// Without the feature a CUDA request is an error that says how to get CUDA, never a
    /// silent CPU fallback. With it, on a machine without a GPU, an error naming the driver's
    /// answer; on a GPU machine, an out-of-range ordinal is refused.
    #[test]
    fn a_cuda_request_never_falls_back_to_the_cpu() {
        match open(DeviceRequest::Cuda(Some(1000)), 0) {
            Err(WorkerError::CudaNotBuilt { requested }) => {
                assert!(!CUDA_BUILT);
                assert_eq!(requested, DeviceRequest::Cuda(Some(1000)));
                let text = WorkerError::CudaNotBuilt { requested }.to_string();
                assert!(text.contains("--features cuda"), "{text}");
            }
            Err(WorkerError::NoGpu { cause, .. }) => assert!(CUDA_BUILT && !cause.is_empty()),
            Err(WorkerError::GpuOrdinalOutOfRange {
                ordinal, visible, ..
            }) => assert!(CUDA_BUILT && ordinal == 1000 && visible < 1000),
            Err(e) => panic!("unexpected error {e}"),
            Ok(d) => panic!("cuda:1000 opened as {}", d.label),
        }
    }
}
