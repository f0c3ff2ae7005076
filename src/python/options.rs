//! The socket options that come from Python: checked here with the texts of
//! docs/errors.md, then handed to the core.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use super::errors::wrong_type;
use crate::socket::Timestamping;

/// `receive_buffer_size`: `None`, or a positive number of bytes.
pub fn buffer_size(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(wrong_type("receive_buffer_size must be an int (bytes)", value));
    }
    match value.extract::<i64>() {
        Ok(size) if size >= 1 => Ok(Some(usize::try_from(size).unwrap_or(usize::MAX))),
        Ok(size) => {
            Err(PyValueError::new_err(format!("receive_buffer_size must be at least 1 byte, got {size}")))
        }
        // Beyond 64 bits: past any kernel's maximum, which it then grants.
        Err(_) if value.gt(0)? => Ok(Some(usize::MAX)),
        Err(_) => {
            Err(PyValueError::new_err(format!("receive_buffer_size must be at least 1 byte, got {value}")))
        }
    }
}

/// `timestamping`: `'software'` (the default) or `'hardware'`.
pub fn timestamping(value: Option<&Bound<'_, PyAny>>) -> PyResult<Timestamping> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(Timestamping::Software) };
    // Bus checks the value before it gets here; None is its default.
    match value.extract::<String>().as_deref() {
        Ok("software") => Ok(Timestamping::Software),
        Ok("hardware") => Ok(Timestamping::Hardware),
        _ => Err(PyValueError::new_err(format!(
            "timestamping must be 'software' or 'hardware', got {}",
            value.repr()?
        ))),
    }
}
