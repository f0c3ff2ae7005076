//! `ferrocan._native.Recording`: the core's recorder behind `ferrocan.Recorder`.
//!
//! The recording thread never touches Python; waiting for it releases the
//! GIL and delivers signals (Ctrl-C) between slices.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_pyerr;
use super::options;
use super::timeout;
use crate::endpoint::CHECK_INTERVAL;
use crate::log_format::Format;
use crate::recorder::{self, Settings, Source};

/// A source as Python gives it: `(channel, [(can_id, can_mask)], error_mask)`.
type SourceTuple = (String, Vec<(u32, u32)>, u32);

/// A recording on a thread of the core's, writing to a descriptor of its own.
#[pyclass(module = "ferrocan._native", name = "Recording", frozen)]
#[derive(Debug)]
pub struct Recording {
    inner: recorder::Recording,
}

#[pymethods]
impl Recording {
    /// Starts recording `sources` to a duplicate of descriptor `fd`.
    #[new]
    #[pyo3(signature = (fd, sources, *, format, count = None, idle = None, receive_buffer_size = None, report_drops = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        fd: i32,
        sources: Vec<SourceTuple>,
        format: &str,
        count: Option<u64>,
        idle: Option<&Bound<'_, PyAny>>,
        receive_buffer_size: Option<&Bound<'_, PyAny>>,
        report_drops: bool,
    ) -> PyResult<Self> {
        let format = Format::from_name(format).ok_or_else(|| {
            PyValueError::new_err(format!(
                "format must be 'log', 'asc', 'blf', 'candump' or 'candump-x', got {format:?}"
            ))
        })?;
        let settings = Settings {
            format,
            count,
            idle: timeout::parse(idle)?,
            receive_buffer_size: options::buffer_size(receive_buffer_size)?,
            report_drops,
        };
        let sources: Vec<Source> = sources
            .into_iter()
            .map(|(channel, filters, error_mask)| Source { channel, filters, error_mask })
            .collect();
        // SAFETY: the descriptor is only borrowed to duplicate it; Python keeps its own.
        let file = File::from(unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?);
        let inner = py.detach(|| recorder::Recording::start(&sources, &settings, file)).map_err(to_pyerr)?;
        Ok(Self { inner })
    }

    /// Asks the recording to write what it has and end; does not wait.
    fn stop(&self) {
        self.inner.stop();
    }

    /// Waits up to `timeout` seconds (`None`: for ever) for the recording
    /// to end; whether it has. Raises, once, what ended it early.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let deadline = timeout::parse(timeout)?.map(|t| Instant::now() + t);
        loop {
            let slice = deadline
                .map_or(CHECK_INTERVAL, |d| d.saturating_duration_since(Instant::now()).min(CHECK_INTERVAL));
            if let Some(result) = py.detach(|| self.inner.wait(Some(slice))) {
                return result.map(|_| true).map_err(to_pyerr);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            py.check_signals()?;
        }
    }

    /// Frames written to the file so far.
    #[getter]
    fn written(&self) -> u64 {
        self.inner.counts().written
    }

    /// Frames the kernel dropped so far because a receive buffer was full.
    #[getter]
    fn dropped(&self) -> u64 {
        self.inner.counts().dropped
    }

    /// Each socket's receive buffer in bytes, as the kernel reports it.
    #[getter]
    fn receive_buffer_sizes(&self) -> Vec<usize> {
        self.inner.receive_buffer_sizes().to_vec()
    }
}
