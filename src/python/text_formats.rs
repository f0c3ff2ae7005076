//! `ferrocan._native.parse_frame`, `format_frame` and `parse_log_line`:
//! can-utils' text formats, for `ferrocan.cansend` and `ferrocan.candump_log`.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::errors::to_pyerr;
use super::fields::Fields;
use super::message::Message;
use crate::{candump_log, cansend};

/// The frame that `cansend IFACE TEXT` would send.
#[pyfunction]
pub fn parse_frame(py: Python<'_>, text: &str) -> PyResult<Message> {
    let parsed = cansend::parse(text).map_err(|e| to_pyerr(e.into()))?;
    Ok(Message::from_spec(py, &parsed.spec(), 0.0, None))
}

/// `msg` in cansend syntax, exactly as `candump -L` prints it.
#[pyfunction]
pub fn format_frame(msg: &Bound<'_, PyAny>) -> PyResult<String> {
    let fields = Fields::from_attributes(msg, "format_frame()")?;
    // SAFETY: formatting runs no Python code while the spec is borrowed.
    Ok(cansend::format(&unsafe { fields.spec() }))
}

/// One line of candump's log: its timestamp, its channel, and its message,
/// which carries both.
#[pyfunction]
pub fn parse_log_line<'py>(py: Python<'py>, line: &str) -> PyResult<(f64, Bound<'py, PyString>, Message)> {
    let parsed = candump_log::parse(line).map_err(|e| to_pyerr(e.into()))?;
    let channel = PyString::new(py, &parsed.channel);
    let owner = Some(channel.clone().into_any().unbind());
    let msg = Message::from_spec(py, &parsed.frame.spec(), parsed.timestamp, owner);
    Ok((parsed.timestamp, channel, msg))
}
