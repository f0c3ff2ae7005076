//! `ferrocan._native.BcmTask`: one kernel-timed periodic task (CAN_BCM),
//! driven by `ferrocan.periodic.PeriodicTask`.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_pyerr;
use super::message::frame_of;
use crate::bcm;
use crate::error::Error;
use crate::frame::Frame;

#[pyclass(module = "ferrocan._native", name = "BcmTask", frozen)]
#[derive(Debug)]
pub struct BcmTask {
    state: Mutex<State>,
    channel: String,
}

#[derive(Debug)]
struct State {
    /// `None` once closed.
    task: Option<bcm::BcmTask>,
    /// A frame of the task as last set up: the kernel knows it by its ID and kind.
    key: Option<Frame>,
}

#[pymethods]
impl BcmTask {
    #[new]
    fn new(py: Python<'_>, channel: String) -> PyResult<Self> {
        let task = py.detach(|| bcm::BcmTask::open(&channel)).map_err(to_pyerr)?;
        Ok(Self { state: Mutex::new(State { task: Some(task), key: None }), channel })
    }

    /// Hands `messages` to the kernel; with `start`, (re)starts the timer
    /// (`count` frames in all, `None`: forever), else keeps its phase.
    fn setup(
        &self,
        messages: &Bound<'_, PyAny>,
        period: f64,
        count: Option<u32>,
        start: bool,
    ) -> PyResult<()> {
        let frames = messages.try_iter()?.map(|m| frame_of(&m?)).collect::<PyResult<Vec<_>>>()?;
        let period = Duration::try_from_secs_f64(period).map_err(|_| {
            PyValueError::new_err(format!("period must be a finite number of seconds > 0, got {period}"))
        })?;
        let mut state = self.lock();
        self.task(&state)?.setup(&frames, period, count, start).map_err(to_pyerr)?;
        state.key = frames.first().cloned();
        Ok(())
    }

    /// Stops the task in the kernel; one never set up or already stopped is fine.
    fn delete(&self) -> PyResult<()> {
        let state = self.lock();
        match &state.key {
            Some(key) => self.task(&state)?.delete(key).map_err(to_pyerr),
            None => Ok(()),
        }
    }

    /// Whether the kernel reported that the counted task sent its last frame;
    /// `False` once closed. Does not wait.
    fn expired(&self) -> PyResult<bool> {
        match self.lock().task.as_mut() {
            Some(task) => task.expired().map_err(to_pyerr),
            None => Ok(false),
        }
    }

    /// Closes the socket, which ends the task too. Idempotent.
    fn close(&self) {
        self.lock().task = None;
    }
}

impl BcmTask {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn task<'a>(&self, state: &'a State) -> PyResult<&'a bcm::BcmTask> {
        state.task.as_ref().ok_or_else(|| to_pyerr(Error::Closed { channel: self.channel.clone() }))
    }
}
