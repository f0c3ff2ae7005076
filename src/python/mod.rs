//! The Python binding: argument conversion, GIL handling and error mapping
//! over the core, and nothing else.

mod bcm_task;
mod errors;
mod fields;
mod interfaces;
mod link;
mod message;
mod native_socket;
mod options;
mod recording;
mod text_formats;
mod timeout;

use pyo3::prelude::*;

/// `ferrocan._native`: the Rust backend.
#[pymodule(name = "_native", gil_used = false)]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<message::Message>()?;
    m.add_class::<native_socket::NativeSocket>()?;
    m.add_class::<bcm_task::BcmTask>()?;
    m.add_class::<recording::Recording>()?;
    for function in [
        wrap_pyfunction!(link::link_list, m)?,
        wrap_pyfunction!(link::link_show, m)?,
        wrap_pyfunction!(link::link_add_vcan, m)?,
        wrap_pyfunction!(link::link_add_vxcan, m)?,
        wrap_pyfunction!(link::link_delete, m)?,
        wrap_pyfunction!(link::link_up, m)?,
        wrap_pyfunction!(link::link_down, m)?,
        wrap_pyfunction!(link::link_restart, m)?,
        wrap_pyfunction!(link::link_set, m)?,
        wrap_pyfunction!(text_formats::parse_frame, m)?,
        wrap_pyfunction!(text_formats::format_frame, m)?,
        wrap_pyfunction!(text_formats::parse_log_line, m)?,
    ] {
        m.add_function(function)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
