//! `ferrocan._native.NativeSocket`: the native backend behind `ferrocan.Bus`.
//!
//! Non-blocking attempts run with the GIL held (one syscall costs less than
//! releasing it); only real waits release the GIL, and they check for
//! signals between the core's wait slices so Ctrl-C works.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::errors::to_pyerr;
use super::interfaces::Interfaces;
use super::message::{frame_of, Message};
use super::options;
use super::timeout;
use crate::endpoint::{Check, Endpoint};
use crate::error::Error;
use crate::frame::Frame;
use crate::rx_buffer::Received;
use crate::socket::{Options, XlOptions};

/// One CAN_RAW socket bound to one interface.
#[pyclass(module = "ferrocan._native", name = "NativeSocket", frozen)]
#[derive(Debug)]
pub struct NativeSocket {
    endpoint: Endpoint,
    channel: Py<PyAny>,
    /// Only for a bus on every interface (`channel=''`).
    interfaces: Option<Interfaces>,
    /// Called with each error frame received, before it is returned.
    on_error_frame: Option<Py<PyAny>>,
}

#[pymethods]
impl NativeSocket {
    #[new]
    #[pyo3(signature = (
        channel, *, fd = false, xl = false, tx_vcid = None, rx_vcid = None, receive_own_messages = false, local_loopback = true,
        error_frames = true, io_uring = true, receive_buffer_size = None, timestamping = None,
        filters = None, on_error_frame = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        channel: Bound<'_, PyString>,
        fd: bool,
        xl: bool,
        tx_vcid: Option<u8>,
        rx_vcid: Option<(u8, u8)>,
        receive_own_messages: bool,
        local_loopback: bool,
        error_frames: bool,
        io_uring: bool,
        receive_buffer_size: Option<&Bound<'_, PyAny>>,
        timestamping: Option<&Bound<'_, PyAny>>,
        filters: Option<Vec<(u32, u32)>>,
        on_error_frame: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let options = Options {
            fd,
            receive_own_messages,
            local_loopback,
            error_frames,
            io_uring,
            receive_buffer_size: options::buffer_size(receive_buffer_size)?,
            timestamping: options::timestamping(timestamping)?,
            filters,
            xl: xl.then_some(XlOptions { tx_vcid, rx_vcid }),
        };
        let name: String = channel.extract()?;
        let endpoint = py.detach(|| Endpoint::open(&name, &options)).map_err(to_pyerr)?;
        let interfaces = name.is_empty().then(Interfaces::default);
        Ok(Self { endpoint, channel: channel.into_any().unbind(), interfaces, on_error_frame })
    }

    #[getter]
    fn backend(&self) -> &'static str {
        "native"
    }

    /// Whether frames come in through io_uring (else one syscall per empty poll).
    #[getter]
    fn io_uring(&self) -> bool {
        self.endpoint.io_uring()
    }

    #[getter]
    fn channel(&self, py: Python<'_>) -> Py<PyAny> {
        self.channel.clone_ref(py)
    }

    #[pyo3(signature = (timeout = None))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Bound<'py, Message>>> {
        let timeout = timeout::parse(timeout)?;
        let mut received = self.endpoint.try_recv().map_err(to_pyerr)?;
        if received.is_none() && timeout.is_none_or(|t| !t.is_zero()) {
            received = blocking(py, |check| self.endpoint.recv(timeout, check))?;
        }
        received.map(|r| self.message(py, &r)).transpose()
    }

    /// Everything available, up to `max_messages` (at least one; `Bus`
    /// checks it); waits like `recv` when nothing is.
    #[pyo3(signature = (max_messages = 256, timeout = None))]
    fn recv_batch<'py>(
        &self,
        py: Python<'py>,
        max_messages: usize,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let Some(first) = self.recv(py, timeout)? else { return Ok(list) };
        list.append(first)?;
        let mut failed = None;
        let mut sink = |r| {
            if let Err(e) = self.message(py, &r).and_then(|m| list.append(m)) {
                failed.get_or_insert(e);
            }
        };
        self.endpoint.drain(max_messages.saturating_sub(1), &mut sink).map_err(to_pyerr)?;
        failed.map_or(Ok(list), Err)
    }

    #[pyo3(signature = (msg, timeout = None))]
    fn send(
        &self,
        py: Python<'_>,
        msg: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let timeout = timeout::parse(timeout)?;
        let frame = self.outgoing(msg)?;
        self.send_frames(py, std::slice::from_ref(&frame), timeout).map(|_| ())
    }

    /// Sends `messages` in order; returns how many the kernel took (all,
    /// unless the timeout passed first).
    #[pyo3(signature = (messages, timeout = None))]
    fn send_batch(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let timeout = timeout::parse(timeout)?;
        let frames = messages.try_iter()?.map(|m| self.outgoing(&m?)).collect::<PyResult<Vec<_>>>()?;
        self.send_frames(py, &frames, timeout)
    }

    /// The receive buffer in effect, in bytes, as the kernel reports it.
    #[getter]
    fn receive_buffer_size(&self) -> PyResult<usize> {
        self.endpoint.receive_buffer_size().map_err(to_pyerr)
    }

    fn set_filters(&self, filters: Vec<(u32, u32)>) -> PyResult<()> {
        self.endpoint.set_filters(&filters).map_err(to_pyerr)
    }

    fn fileno(&self) -> PyResult<i32> {
        self.endpoint.fileno().map_err(to_pyerr)
    }

    /// `(received, sent, dropped)` since the socket was opened.
    fn statistics(&self) -> (u64, u64, u64) {
        let s = self.endpoint.statistics();
        (s.received, s.sent, s.dropped)
    }

    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| self.endpoint.shutdown());
    }
}

impl NativeSocket {
    /// The message for a received frame, with the interface it came from;
    /// an error frame is shown to `on_error_frame` first.
    fn message<'py>(&self, py: Python<'py>, received: &Received) -> PyResult<Bound<'py, Message>> {
        let message = match &self.interfaces {
            Some(interfaces) => Message::from_received(py, received, &interfaces.name(py, received.ifindex)),
            None => Message::from_received(py, received, &self.channel),
        };
        let message = Bound::new(py, message)?;
        if let Some(observer) = self.on_error_frame.as_ref().filter(|_| received.frame.is_error()) {
            observer.call1(py, (&message,))?;
        }
        Ok(message)
    }

    /// The frame for `msg`; on a bus on every interface, addressed to `msg.channel`.
    fn outgoing(&self, msg: &Bound<'_, PyAny>) -> PyResult<Frame> {
        let frame = frame_of(msg)?;
        match self.interfaces {
            Some(_) => Ok(frame.to_interface(Interfaces::destination(msg)?)),
            None => Ok(frame),
        }
    }

    /// One attempt with the GIL held; only a full queue releases it to wait.
    fn send_frames(&self, py: Python<'_>, frames: &[Frame], timeout: Option<Duration>) -> PyResult<usize> {
        let sent = self.endpoint.try_send_batch(frames).map_err(to_pyerr)?;
        if sent == frames.len() || timeout.is_some_and(|t| t.is_zero()) && sent > 0 {
            return Ok(sent);
        }
        let rest = &frames[sent..];
        Ok(sent + blocking(py, |check| self.endpoint.send_batch(rest, timeout, check))?)
    }
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
