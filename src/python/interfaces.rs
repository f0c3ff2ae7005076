//! For a bus on every interface (`channel=''`): which interface a received
//! frame came from, and which one a message is to go to.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::errors::to_pyerr;
use crate::error::Error;
use crate::socket::{interface_index, interface_name};

/// Interface names by index, looked up once each.
#[derive(Debug, Default)]
pub struct Interfaces {
    names: Mutex<HashMap<i32, Py<PyAny>>>,
}

impl Interfaces {
    /// The name of interface `ifindex` as a Python str (None if it is gone).
    pub fn name(&self, py: Python<'_>, ifindex: i32) -> Py<PyAny> {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names
            .entry(ifindex)
            .or_insert_with(|| match interface_name(ifindex as u32) {
                Some(name) => PyString::new(py, &name).into_any().unbind(),
                None => py.None(),
            })
            .clone_ref(py)
    }

    /// The index of the interface `msg.channel` names.
    pub fn destination(msg: &Bound<'_, PyAny>) -> PyResult<u32> {
        let channel = msg.getattr("channel")?;
        let Some(name) = channel.extract::<String>().ok().filter(|name| !name.is_empty()) else {
            return Err(to_pyerr(Error::NoDestination));
        };
        interface_index(&name).map_err(|_| to_pyerr(Error::Transmit { channel: name, errno: libc::ENODEV }))
    }
}
