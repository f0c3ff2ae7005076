//! `ferrocan.Message`: python-can's message as a Rust class, so that the
//! receive path builds one without running Python code.
//!
//! Fields and validation live here; the presentation that is the same for
//! both implementations (`str`, `repr`, `equals`) is shared Python code in
//! `ferrocan._message_text`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyTuple, PyType};

use super::errors::to_pyerr;
use super::fields::{bind_arguments, parse_data, Fields};
use crate::frame::{Frame, FrameSpec};
use crate::rx_buffer::Received;

/// A CAN message, with python-can's attributes and semantics.
#[pyclass(module = "ferrocan", name = "Message", weakref, subclass)]
#[derive(Debug)]
pub struct Message {
    #[pyo3(get, set)]
    timestamp: f64,
    #[pyo3(get, set)]
    arbitration_id: i64,
    #[pyo3(get, set)]
    is_extended_id: bool,
    #[pyo3(get, set)]
    is_remote_frame: bool,
    #[pyo3(get, set)]
    is_error_frame: bool,
    #[pyo3(get, set)]
    channel: Option<Py<PyAny>>,
    #[pyo3(get, set)]
    dlc: i64,
    data: Data,
    #[pyo3(get, set)]
    is_fd: bool,
    #[pyo3(get, set)]
    is_rx: bool,
    #[pyo3(get, set)]
    bitrate_switch: bool,
    #[pyo3(get, set)]
    error_state_indicator: bool,
    #[pyo3(get, set)]
    is_xl: bool,
    #[pyo3(get, set)]
    sdu_type: i64,
    #[pyo3(get, set)]
    acceptance_field: i64,
    #[pyo3(get, set)]
    simple_extended_content: bool,
    #[pyo3(get, set)]
    vcid: i64,
}

impl Message {
    /// A message for a frame from the kernel: nothing to validate.
    pub fn from_received(py: Python<'_>, received: &Received, channel: &Py<PyAny>) -> Self {
        let frame = &received.frame;
        let xl = frame.xl_header();
        Self {
            timestamp: received.timestamp.as_secs_f64(),
            arbitration_id: frame.id().into(),
            is_extended_id: frame.is_extended(),
            is_remote_frame: frame.is_remote(),
            is_error_frame: frame.is_error(),
            channel: Some(channel.clone_ref(py)),
            dlc: frame.dlc().into(),
            data: Data::inline(py, frame.data()),
            is_fd: frame.is_fd(),
            is_rx: !received.local,
            bitrate_switch: frame.brs(),
            error_state_indicator: frame.esi(),
            is_xl: xl.is_some(),
            sdu_type: xl.map_or(0, |xl| xl.sdu_type.into()),
            acceptance_field: xl.map_or(0, |xl| xl.acceptance_field.into()),
            simple_extended_content: xl.is_some_and(|xl| xl.sec),
            vcid: xl.map_or(0, |xl| xl.vcid.into()),
        }
    }

    /// A message for a frame known to be valid (one parsed from text), as
    /// `Message(...)` would build it.
    pub fn from_spec(
        py: Python<'_>,
        spec: &FrameSpec<'_>,
        timestamp: f64,
        channel: Option<Py<PyAny>>,
    ) -> Self {
        Self {
            timestamp,
            arbitration_id: spec.id,
            is_extended_id: spec.extended,
            is_remote_frame: spec.remote,
            is_error_frame: spec.error,
            channel,
            dlc: spec.dlc.unwrap_or(spec.data.len() as i64),
            data: Data::inline(py, spec.data),
            is_fd: spec.fd,
            is_rx: true,
            bitrate_switch: spec.brs,
            error_state_indicator: spec.esi,
            is_xl: spec.xl,
            sdu_type: spec.sdu_type,
            acceptance_field: spec.acceptance_field,
            simple_extended_content: spec.sec,
            vcid: spec.vcid,
        }
    }

    /// The frame to send, validated as its attributes stand now.
    pub fn to_frame(&self, py: Python<'_>) -> PyResult<Frame> {
        let spec = FrameSpec {
            id: self.arbitration_id,
            extended: self.is_extended_id,
            remote: self.is_remote_frame,
            error: self.is_error_frame,
            fd: self.is_fd,
            brs: self.bitrate_switch,
            esi: self.error_state_indicator,
            dlc: Some(self.dlc),
            // SAFETY: the spec lives only for Frame::new, which runs no
            // Python code, so a bytearray cannot change under it.
            data: unsafe { self.data.as_bytes(py) },
            xl: self.is_xl,
            sdu_type: self.sdu_type,
            acceptance_field: self.acceptance_field,
            sec: self.simple_extended_content,
            vcid: self.vcid,
        };
        Frame::new(&spec).map_err(|e| super::errors::to_pyerr(e.into()))
    }

    fn from_fields(fields: Fields<'_>) -> Self {
        let default_dlc = if fields.is_remote_frame { 0 } else { fields.data.len() as i64 };
        Self {
            timestamp: fields.timestamp,
            arbitration_id: fields.arbitration_id,
            is_extended_id: fields.is_extended_id,
            is_remote_frame: fields.is_remote_frame,
            is_error_frame: fields.is_error_frame,
            channel: fields.channel.map(Bound::unbind),
            dlc: fields.dlc.unwrap_or(default_dlc),
            data: Data::Shared(fields.data.unbind()),
            is_fd: fields.is_fd,
            is_rx: fields.is_rx,
            bitrate_switch: fields.bitrate_switch,
            error_state_indicator: fields.error_state_indicator,
            is_xl: fields.is_xl,
            sdu_type: fields.sdu_type,
            acceptance_field: fields.acceptance_field,
            simple_extended_content: fields.simple_extended_content,
            vcid: fields.vcid,
        }
    }

    /// A copy sharing `data` (python-can's `copy`) or owning a copy of it.
    fn duplicate(&self, py: Python<'_>, data: Py<PyByteArray>) -> Self {
        Self { channel: self.channel.as_ref().map(|c| c.clone_ref(py)), data: Data::Shared(data), ..*self }
    }

    /// The payload's bytes, copied out.
    fn data_vec(&self, py: Python<'_>) -> Vec<u8> {
        // SAFETY: copied before any Python code runs.
        unsafe { self.data.as_bytes(py) }.to_vec()
    }
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let values = bind_arguments(args, kwargs)?;
        Ok(Self::from_fields(Fields::parse(args.py(), &values)?))
    }

    /// Builds a message from fields already known to be valid (a backend's
    /// decoded frame); `data` must be a bytearray.
    #[classmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (
        timestamp, arbitration_id, is_extended_id, is_remote_frame, is_error_frame, channel, dlc, data,
        is_fd, is_rx, bitrate_switch, error_state_indicator,
        *, is_xl = false, sdu_type = 0, acceptance_field = 0, simple_extended_content = false, vcid = 0,
    ))]
    fn _unchecked(
        _cls: &Bound<'_, PyType>,
        timestamp: f64,
        arbitration_id: i64,
        is_extended_id: bool,
        is_remote_frame: bool,
        is_error_frame: bool,
        channel: Option<Py<PyAny>>,
        dlc: i64,
        data: Py<PyByteArray>,
        is_fd: bool,
        is_rx: bool,
        bitrate_switch: bool,
        error_state_indicator: bool,
        is_xl: bool,
        sdu_type: i64,
        acceptance_field: i64,
        simple_extended_content: bool,
        vcid: i64,
    ) -> Self {
        Self {
            timestamp,
            arbitration_id,
            is_extended_id,
            is_remote_frame,
            is_error_frame,
            channel,
            dlc,
            data: Data::Shared(data),
            is_fd,
            is_rx,
            bitrate_switch,
            error_state_indicator,
            is_xl,
            sdu_type,
            acceptance_field,
            simple_extended_content,
            vcid,
        }
    }

    #[getter]
    fn data(&mut self, py: Python<'_>) -> Py<PyByteArray> {
        self.data.shared(py)
    }

    #[setter]
    fn set_data(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.data = Data::Shared(parse_data(value.py(), value)?.unbind());
        Ok(())
    }

    #[pyo3(signature = (other, timestamp_delta = Some(1.0e-6), check_channel = true, check_direction = true))]
    fn equals(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        timestamp_delta: Option<f64>,
        check_channel: bool,
        check_direction: bool,
    ) -> PyResult<bool> {
        shared(slf.py(), "equals")?
            .call1((slf, other, timestamp_delta, check_channel, check_direction))?
            .extract()
    }

    fn __str__(slf: &Bound<'_, Self>) -> PyResult<String> {
        shared(slf.py(), "format_str")?.call1((slf,))?.extract()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        shared(slf.py(), "format_repr")?.call1((slf,))?.extract()
    }

    fn __format__(slf: &Bound<'_, Self>, format_spec: &str) -> PyResult<String> {
        if !format_spec.is_empty() {
            return Err(PyValueError::new_err("non-empty format_specs are not supported"));
        }
        Self::__str__(slf)
    }

    fn __len__(&self) -> usize {
        self.dlc.max(0) as usize
    }

    fn __bool__(&self) -> bool {
        true
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data_vec(py))
    }

    fn __copy__(&mut self, py: Python<'_>) -> Self {
        let data = self.data.shared(py);
        self.duplicate(py, data)
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> Self {
        let data = PyByteArray::new(py, &self.data_vec(py)).unbind();
        self.duplicate(py, data)
    }

    /// python-can's positional arguments, identical in the pure-Python class,
    /// so a pickle from either implementation loads in the other. A CAN XL
    /// message, whose data the constructor would refuse without `is_xl`
    /// (keyword-only, so pickle cannot pass it), is built without data and
    /// gets its data, dlc and CAN XL fields from `__setstate__`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let m = slf.borrow();
        let data = PyBytes::new(py, &m.data_vec(py));
        let (dlc, args_data) = if m.is_xl { (0, PyBytes::new(py, b"")) } else { (m.dlc, data.clone()) };
        let args = (
            m.timestamp,
            m.arbitration_id,
            m.is_extended_id,
            m.is_remote_frame,
            m.is_error_frame,
            m.channel.as_ref().map(|c| c.clone_ref(py)),
            dlc,
            args_data,
            m.is_fd,
            m.is_rx,
            m.bitrate_switch,
            m.error_state_indicator,
        )
            .into_pyobject(py)?;
        let cls = slf.get_type().into_any();
        if !m.is_xl {
            return PyTuple::new(py, [cls, args.into_any()]);
        }
        let state = PyDict::new(py);
        state.set_item("is_xl", m.is_xl)?;
        state.set_item("sdu_type", m.sdu_type)?;
        state.set_item("acceptance_field", m.acceptance_field)?;
        state.set_item("simple_extended_content", m.simple_extended_content)?;
        state.set_item("vcid", m.vcid)?;
        state.set_item("dlc", m.dlc)?;
        state.set_item("data", data)?;
        PyTuple::new(py, [cls, args.into_any(), state.into_any()])
    }

    /// Restores a CAN XL message from its pickle (see `__reduce__`).
    fn __setstate__(&mut self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let get = |name: &str| {
            state
                .get_item(name)?
                .ok_or_else(|| PyValueError::new_err(format!("a pickled CAN XL message lacks its {name}")))
        };
        self.is_xl = get("is_xl")?.extract()?;
        self.sdu_type = get("sdu_type")?.extract()?;
        self.acceptance_field = get("acceptance_field")?.extract()?;
        self.simple_extended_content = get("simple_extended_content")?.extract()?;
        self.vcid = get("vcid")?.extract()?;
        self.dlc = get("dlc")?.extract()?;
        self.data = Data::Shared(parse_data(state.py(), &get("data")?)?.unbind());
        Ok(())
    }
}

/// A message's payload. A received frame's bytes stay inline until Python
/// first asks for `data`; from then on every access shares one bytearray,
/// as python-can's does. Most received messages never build it.
#[derive(Debug)]
enum Data {
    Inline { bytes: [u8; INLINE], len: u8 },
    Shared(Py<PyByteArray>),
}

/// The most a classic or CAN FD frame carries: a CAN XL payload goes
/// straight into its bytearray.
const INLINE: usize = 64;

impl Data {
    fn inline(py: Python<'_>, data: &[u8]) -> Self {
        if data.len() > INLINE {
            return Self::Shared(PyByteArray::new(py, data).unbind());
        }
        let mut bytes = [0; INLINE];
        bytes[..data.len()].copy_from_slice(data);
        Self::Inline { bytes, len: data.len() as u8 }
    }

    /// The one bytearray every access to `data` returns from now on.
    fn shared(&mut self, py: Python<'_>) -> Py<PyByteArray> {
        let array = match self {
            Self::Shared(array) => return array.clone_ref(py),
            Self::Inline { bytes, len } => PyByteArray::new(py, &bytes[..usize::from(*len)]).unbind(),
        };
        *self = Self::Shared(array.clone_ref(py));
        array
    }

    /// The bytes.
    ///
    /// # Safety
    /// For a shared bytearray, no Python code may run while the slice lives.
    unsafe fn as_bytes<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        match self {
            Self::Inline { bytes, len } => &bytes[..usize::from(*len)],
            // SAFETY: the caller runs no Python code while the slice lives.
            Self::Shared(array) => unsafe { array.bind(py).as_bytes() },
        }
    }
}

/// The frame for a ferrocan Message, or for anything with its attributes.
pub fn frame_of(msg: &Bound<'_, PyAny>) -> PyResult<Frame> {
    if let Ok(native) = msg.cast::<Message>() {
        return native.borrow().to_frame(msg.py());
    }
    let fields = Fields::from_attributes(msg, "send()")?;
    // SAFETY: the spec lives only for Frame::new, which runs no Python code.
    Frame::new(&unsafe { fields.spec() }).map_err(|e| to_pyerr(e.into()))
}

/// A function of `ferrocan._message_text`, the presentation both classes share.
fn shared<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module =
        MODULE.get_or_try_init(py, || Ok::<_, PyErr>(py.import("ferrocan._message_text")?.unbind()))?;
    module.bind(py).getattr(name)
}
