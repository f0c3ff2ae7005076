//! Python timeouts (`None` or seconds) as the core's `Option<Duration>`.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};

use super::errors::wrong_type;

/// `None` or infinity: wait forever; otherwise a non-negative number of seconds.
pub fn parse(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(value) = timeout.filter(|t| !t.is_none()) else { return Ok(None) };
    if !(value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>()) {
        return Err(wrong_type("timeout must be None or a number of seconds", value));
    }
    let seconds: f64 = value.extract()?;
    if seconds.is_nan() || seconds < 0.0 {
        let shown = PyFloat::new(value.py(), seconds).repr()?;
        return Err(PyValueError::new_err(format!(
            "timeout must be None or a number of seconds >= 0, got {shown}"
        )));
    }
    Ok(Duration::try_from_secs_f64(seconds).ok())
}
