//! Choosing where tensors live: CUDA when present, else the CPU.

use tch::Device;

/// The first CUDA device when libtorch sees one, otherwise the CPU.
pub fn best_device() -> Device {
    Device::cuda_if_available()
}

/// A one-line description of a device and the threads libtorch uses on the CPU.
pub fn describe_device(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("CUDA device {i} ({} visible)", tch::Cuda::device_count()),
        other => format!("{other:?} with {} threads", tch::get_num_threads()),
    }
}
