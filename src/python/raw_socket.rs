//! `ferrocan._native.RawSocket`: the native backend behind `ferrocan.Bus`.
//!
//! Non-blocking attempts run with the GIL held (one syscall costs less than
//! releasing it); only real waits release the GIL, and they check for
//! signals between the core's wait slices so Ctrl-C works.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::errors::to_pyerr;
use super::fields::Fields;
use super::message::Message;
use super::timeout;
use crate::bus::{Bus, Check};
use crate::error::Error;
use crate::frame::Frame;
use crate::socket::Options;

/// One CAN_RAW socket bound to one interface.
#[pyclass(module = "ferrocan._native", name = "RawSocket", frozen)]
pub struct RawSocket {
    bus: Bus,
    channel: Py<PyAny>,
}

#[pymethods]
impl RawSocket {
    #[new]
    #[pyo3(signature = (channel, *, fd = false, receive_own_messages = false, local_loopback = true, error_frames = true))]
    fn new(
        py: Python<'_>,
        channel: Bound<'_, PyString>,
        fd: bool,
        receive_own_messages: bool,
        local_loopback: bool,
        error_frames: bool,
    ) -> PyResult<Self> {
        let options = Options { fd, receive_own_messages, local_loopback, error_frames };
        let name: String = channel.extract()?;
        let bus = py.detach(|| Bus::open(&name, &options)).map_err(to_pyerr)?;
        Ok(Self { bus, channel: channel.into_any().unbind() })
    }

    #[getter]
    fn backend(&self) -> &'static str {
        "native"
    }

    #[getter]
    fn channel(&self, py: Python<'_>) -> Py<PyAny> {
        self.channel.clone_ref(py)
    }

    #[pyo3(signature = (timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Message>> {
        let timeout = timeout::parse(timeout)?;
        let mut received = self.bus.try_recv().map_err(to_pyerr)?;
        if received.is_none() && timeout.is_none_or(|t| !t.is_zero()) {
            received = blocking(py, |check| self.bus.recv(timeout, check))?;
        }
        Ok(received.map(|r| Message::from_received(py, &r, &self.channel)))
    }

    #[pyo3(signature = (msg, timeout = None))]
    fn send(
        &self,
        py: Python<'_>,
        msg: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = timeout::parse(timeout)?;
        let frame = frame_of(msg)?;
        if self.bus.try_send(&frame).map_err(to_pyerr)? {
            return Ok(());
        }
        blocking(py, |check| self.bus.send(&frame, timeout, check))
    }

    fn set_filters(&self, filters: Vec<(u32, u32)>) -> PyResult<()> {
        self.bus.set_filters(&filters).map_err(to_pyerr)
    }

    fn fileno(&self) -> PyResult<i32> {
        self.bus.fileno().map_err(to_pyerr)
    }

    /// Frames the kernel dropped because the receive buffer was full.
    fn dropped(&self) -> PyResult<u32> {
        self.bus.dropped().map_err(to_pyerr)
    }

    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| self.bus.shutdown());
    }
}

/// The frame for a ferrocan Message, or for anything with its attributes.
fn frame_of(msg: &Bound<'_, PyAny>) -> PyResult<Frame> {
    if let Ok(native) = msg.cast::<Message>() {
        return native.borrow().to_frame(msg.py());
    }
    let fields = Fields::from_attributes(msg)?;
    // SAFETY: the spec lives only for Frame::new, which runs no Python code.
    Frame::new(&unsafe { fields.spec() }).map_err(|e| to_pyerr(e.into()))
}

/// Runs a blocking core call without the GIL, delivering pending signals
/// (KeyboardInterrupt) between its wait slices.
fn blocking<T, F>(py: Python<'_>, call: F) -> PyResult<T>
where
    F: FnOnce(Check<'_>) -> Result<T, Error> + Send,
    T: Send,
{
    let mut pending: Option<PyErr> = None;
    let result = py.detach(|| {
        call(&mut || Python::attach(|py| py.check_signals()).map_err(|e| pending = Some(e)).is_ok())
    });
    match (result, pending) {
        (Err(Error::Interrupted), Some(err)) => Err(err),
        (result, _) => result.map_err(to_pyerr),
    }
}
