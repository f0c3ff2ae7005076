//! The one place where core errors become Python exceptions. The classes are
//! ferrocan's own, defined in `ferrocan/exceptions.py` and imported here.

use pyo3::exceptions::{PyOSError, PyPermissionError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;

pyo3::import_exception!(ferrocan.exceptions, CanInitializationError);
pyo3::import_exception!(ferrocan.exceptions, CanOperationError);

pub fn to_pyerr(error: Error) -> PyErr {
    let message = error.to_string();
    let code = error.errno();
    match error {
        Error::NoSuchInterface { .. }
        | Error::NotCanInterface { .. }
        | Error::NoKernelSupport { .. }
        | Error::NoHardwareTimestamps { .. }
        | Error::NoXlSupport { .. }
        | Error::NoVcidSupport { .. }
        | Error::Open { .. } => CanInitializationError::new_err((message, code)),
        Error::Frame(_)
        | Error::FrameSyntax(_)
        | Error::LogLine(_)
        | Error::VirtualLink { .. }
        | Error::BadMtu { .. }
        | Error::LinkSettings { .. }
        | Error::NoDestination => PyValueError::new_err(message),
        Error::NotPermitted { .. } => PyPermissionError::new_err((libc::EPERM, message)),
        Error::Write { errno, .. } => PyOSError::new_err((errno, message)),
        Error::Interrupted => PyTypeError::new_err("interrupted without a pending Python error"),
        Error::Closed { .. }
        | Error::FdOnClassicBus { .. }
        | Error::XlNotEnabled { .. }
        | Error::XlMtu { .. }
        | Error::VcidNotCarried { .. }
        | Error::BufferFull { .. }
        | Error::Transmit { .. }
        | Error::Receive { .. }
        | Error::Filters { .. }
        | Error::Link { .. } => CanOperationError::new_err((message, code)),
    }
}

/// `TypeError("{what}, got {type name}")`, the shape of every type complaint.
pub fn wrong_type(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    PyTypeError::new_err(format!("{what}, got {name}"))
}
