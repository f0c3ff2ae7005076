//! A message's fields from Python values: type conversion and validation
//! with the texts of `docs/errors.md`, shared by `Message()` and by `send()`
//! of any object shaped like a message (such as python-can's).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyDict, PyFloat, PyInt, PyMemoryView, PyString, PyTuple};

use super::errors::{to_pyerr, wrong_type};
use crate::frame::FrameSpec;

/// python-can's `Message` parameters, in its positional order, then
/// ferrocan's CAN XL fields, which are keyword-only.
pub const NAMES: [&str; 17] = [
    "timestamp",
    "arbitration_id",
    "is_extended_id",
    "is_remote_frame",
    "is_error_frame",
    "channel",
    "dlc",
    "data",
    "is_fd",
    "is_rx",
    "bitrate_switch",
    "error_state_indicator",
    "is_xl",
    "sdu_type",
    "acceptance_field",
    "simple_extended_content",
    "vcid",
];

/// How many of [`NAMES`] python-can takes positionally.
const POSITIONAL: usize = 12;

/// One value per name in [`NAMES`]; `None` where the caller gave none.
pub type Values<'py> = [Option<Bound<'py, PyAny>>; NAMES.len()];

/// Converted and validated fields.
pub struct Fields<'py> {
    pub timestamp: f64,
    pub arbitration_id: i64,
    pub is_extended_id: bool,
    pub is_remote_frame: bool,
    pub is_error_frame: bool,
    pub channel: Option<Bound<'py, PyAny>>,
    pub dlc: Option<i64>,
    pub data: Bound<'py, PyByteArray>,
    pub is_fd: bool,
    pub is_rx: bool,
    pub bitrate_switch: bool,
    pub error_state_indicator: bool,
    pub is_xl: bool,
    pub sdu_type: i64,
    pub acceptance_field: i64,
    pub simple_extended_content: bool,
    pub vcid: i64,
    /// A data item out of range, reported first among the value errors.
    bad_item: Option<PyErr>,
}

impl<'py> Fields<'py> {
    /// Types first, in parameter order, then values, as python-can checks them.
    pub fn parse(py: Python<'py>, values: &Values<'py>) -> PyResult<Self> {
        let flag = |i: usize, default: bool| parse_bool(NAMES[i], values[i].as_ref(), default);
        // Struct fields are evaluated in the order written: python-can's
        // parameter order, so the first wrong type is the one reported.
        let fields = Self {
            timestamp: parse_timestamp(values[0].as_ref())?,
            arbitration_id: parse_id(values[1].as_ref())?,
            // A CAN XL frame's ID is 11 bits: the default follows is_xl, below.
            is_extended_id: flag(2, true)?,
            is_remote_frame: flag(3, false)?,
            is_error_frame: flag(4, false)?,
            channel: parse_channel(values[5].as_ref())?,
            dlc: parse_int("dlc must be an int or None", values[6].as_ref())?,
            data: PyByteArray::new(py, &[]),
            bad_item: None,
            is_fd: false,
            is_rx: true,
            bitrate_switch: false,
            error_state_indicator: false,
            is_xl: false,
            sdu_type: 0,
            acceptance_field: 0,
            simple_extended_content: false,
            vcid: 0,
        };
        let (data, bad_item) = match values[7].as_ref() {
            Some(v) => parse_data_checked(py, v)?,
            None => (PyByteArray::new(py, &[]), None),
        };
        let fields = Self {
            data,
            bad_item,
            is_fd: flag(8, false)?,
            is_rx: flag(9, true)?,
            bitrate_switch: flag(10, false)?,
            error_state_indicator: flag(11, false)?,
            is_xl: flag(12, false)?,
            sdu_type: parse_field(13, values)?,
            acceptance_field: parse_field(14, values)?,
            simple_extended_content: flag(15, false)?,
            vcid: parse_field(16, values)?,
            ..fields
        };
        let is_extended_id = fields.is_extended_id && (values[2].is_some() || !fields.is_xl);
        let fields = Self { is_extended_id, ..fields };
        fields.check(py).map_err(|error| as_given(py, error, values))?;
        Ok(fields)
    }

    /// Reads the fields of any object with python-can's message attributes;
    /// `caller` names the function in the error for an object without them.
    pub fn from_attributes(message: &Bound<'py, PyAny>, caller: &str) -> PyResult<Self> {
        let mut values: Values<'py> = Default::default();
        for (i, (value, name)) in values.iter_mut().zip(NAMES).enumerate() {
            let attribute = message.getattr(name);
            *value = match attribute {
                Ok(attribute) => Some(attribute),
                // python-can's Message has no CAN XL fields: they keep their defaults.
                Err(_) if i >= POSITIONAL => None,
                Err(_) => {
                    return Err(wrong_type(
                        &format!("{caller} expects a ferrocan.Message or a can.Message"),
                        message,
                    ))
                }
            };
        }
        Self::parse(message.py(), &values)
    }

    /// The frame these fields describe, borrowing the data.
    ///
    /// # Safety
    /// The returned spec borrows the bytearray's buffer: no Python code may
    /// run (and so resize it) while the spec is alive.
    pub unsafe fn spec(&self) -> FrameSpec<'_> {
        FrameSpec {
            id: self.arbitration_id,
            extended: self.is_extended_id,
            remote: self.is_remote_frame,
            error: self.is_error_frame,
            fd: self.is_fd,
            brs: self.bitrate_switch,
            esi: self.error_state_indicator,
            dlc: self.dlc,
            // SAFETY: the caller keeps Python code from running while the spec lives.
            data: unsafe { self.data.as_bytes() },
            xl: self.is_xl,
            sdu_type: self.sdu_type,
            acceptance_field: self.acceptance_field,
            sec: self.simple_extended_content,
            vcid: self.vcid,
        }
    }

    fn check(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(err) = &self.bad_item {
            return Err(err.clone_ref(py));
        }
        if !self.timestamp.is_finite() || self.timestamp < 0.0 {
            let shown = PyFloat::new(py, self.timestamp).repr()?;
            return Err(PyValueError::new_err(format!(
                "timestamp must be a finite number of seconds >= 0, got {shown}"
            )));
        }
        // SAFETY: nothing runs Python code while the spec is borrowed.
        unsafe { self.spec() }.check().map_err(|e| to_pyerr(e.into()))
    }
}

/// Maps `Message(*args, **kwargs)` onto [`NAMES`], taking python-can's
/// ignored `check` and the deprecated `extended_id`.
pub fn bind_arguments<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Values<'py>> {
    let mut values: Values<'py> = Default::default();
    // python-can's `check` follows its twelve.
    if args.len() > POSITIONAL + 1 {
        return Err(PyTypeError::new_err(format!(
            "Message() takes at most {} positional arguments ({} given)",
            POSITIONAL + 1,
            args.len()
        )));
    }
    for (slot, arg) in values.iter_mut().zip(args.iter()).take(POSITIONAL) {
        *slot = Some(arg);
    }
    let Some(kwargs) = kwargs else { return Ok(values) };
    for (key, value) in kwargs.iter() {
        let key: String = key.extract()?;
        match NAMES.iter().position(|n| *n == key) {
            Some(i) if values[i].is_some() => {
                return Err(PyTypeError::new_err(format!(
                    "Message() got multiple values for argument '{key}'"
                )))
            }
            Some(i) => values[i] = Some(value),
            None if key == "check" => {}
            None if key == "extended_id" => legacy_extended_id(&mut values, value, kwargs)?,
            None => {
                return Err(PyTypeError::new_err(format!(
                    "Message() got an unexpected keyword argument '{key}'"
                )))
            }
        }
    }
    Ok(values)
}

fn legacy_extended_id<'py>(
    values: &mut Values<'py>,
    value: Bound<'py, PyAny>,
    kwargs: &Bound<'py, PyDict>,
) -> PyResult<()> {
    if values[2].is_some() || kwargs.contains("is_extended_id")? {
        return Err(PyTypeError::new_err("pass is_extended_id or extended_id, not both"));
    }
    let py = value.py();
    let warning = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
    PyErr::warn(py, &warning, c"extended_id is deprecated; use is_extended_id", 1)?;
    values[2] = Some(value);
    Ok(())
}

/// A CAN XL header field's int; 0 when absent (python-can's Message has none).
fn parse_field(index: usize, values: &Values<'_>) -> PyResult<i64> {
    let what = format!("{} must be an int", NAMES[index]);
    match values[index].as_ref() {
        Some(v) if v.is_none() => Err(wrong_type(&what, v)),
        value => Ok(parse_int(&what, value)?.unwrap_or(0)),
    }
}

fn parse_id(value: Option<&Bound<'_, PyAny>>) -> PyResult<i64> {
    const WHAT: &str = "arbitration_id must be an int";
    match value {
        None => Ok(0),
        Some(v) if v.is_none() => Err(wrong_type(WHAT, v)),
        Some(v) => Ok(parse_int(WHAT, Some(v))?.unwrap_or_default()),
    }
}

fn parse_timestamp(value: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
    match value {
        None => Ok(0.0),
        Some(v) if v.is_instance_of::<PyFloat>() => v.extract(),
        // An int too large for a float is an infinite timestamp, refused later.
        Some(v) if v.is_instance_of::<PyInt>() => Ok(v.extract().unwrap_or(f64::INFINITY)),
        Some(v) => Err(wrong_type("timestamp must be a number of seconds", v)),
    }
}

/// `error` with each int that [`parse_int`] clamped to i64 shown as the
/// caller gave it: the id in hex, the dlc in decimal, as the texts show them.
fn as_given(py: Python<'_>, error: PyErr, values: &Values<'_>) -> PyErr {
    let mut text = error.value(py).to_string();
    let shown_as = [(1, "#x"), (6, "d"), (13, "d"), (14, "#x"), (16, "d")];
    for (value, spec) in shown_as.map(|(i, spec)| (&values[i], spec)) {
        let Some(given) = value.as_ref().filter(|v| v.is_instance_of::<PyInt>()) else { continue };
        if given.extract::<i64>().is_ok() {
            continue;
        }
        let clamped = if given.gt(0).unwrap_or(false) { i64::MAX } else { i64::MIN };
        let shown = |v: &Bound<'_, PyAny>| v.call_method1("__format__", (spec,))?.extract::<String>();
        match (shown(&PyInt::new(py, clamped)), shown(given)) {
            (Ok(clamped), Ok(given)) => text = text.replace(&clamped, &given),
            _ => return error,
        }
    }
    PyErr::from_type(error.get_type(py), text)
}

/// An int (clamped to i64, which is still out of every CAN range), `None`
/// for absent or None.
fn parse_int(what: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(v) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    if !v.is_instance_of::<PyInt>() {
        return Err(wrong_type(what, v));
    }
    Ok(Some(v.extract().unwrap_or(if v.gt(0)? { i64::MAX } else { i64::MIN })))
}

fn parse_bool(name: &str, value: Option<&Bound<'_, PyAny>>, default: bool) -> PyResult<bool> {
    match value {
        None => Ok(default),
        Some(v) => match v.cast::<PyBool>() {
            Ok(b) => Ok(b.is_true()),
            Err(_) => Err(wrong_type(&format!("{name} must be a bool"), v)),
        },
    }
}

fn parse_channel<'py>(value: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyAny>>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) if v.is_instance_of::<PyString>() || v.is_instance_of::<PyInt>() => Ok(Some(v.clone())),
        Some(v) => Err(wrong_type("channel must be a str, an int or None", v)),
    }
}

const DATA: &str = "data must be bytes-like or an iterable of ints in 0..255";

/// The data as a bytearray, for the `data` setter: every problem at once.
pub fn parse_data<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyByteArray>> {
    match parse_data_checked(py, value)? {
        (_, Some(err)) => Err(err),
        (data, None) => Ok(data),
    }
}

/// The data as a bytearray: a given bytearray is kept (as python-can does),
/// anything else is copied into a new one. A wrong type fails at once; an
/// item out of range comes back beside the data, to be reported in
/// python-can's order of checks.
fn parse_data_checked<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyByteArray>, Option<PyErr>)> {
    if value.is_none() {
        return Ok((PyByteArray::new(py, &[]), None));
    }
    if let Ok(bytearray) = value.cast::<PyByteArray>() {
        return Ok((bytearray.clone(), None));
    }
    if value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
    {
        return Err(wrong_type(DATA, value));
    }
    if let Ok(view) = PyMemoryView::from(value) {
        return Ok((PyByteArray::from(&view)?, None));
    }
    let items = value.try_iter().map_err(|_| wrong_type(DATA, value))?;
    let mut bytes = Vec::new();
    let mut bad_item = None;
    for (i, item) in items.enumerate() {
        let item = item?;
        match parse_byte(i, &item)? {
            Ok(byte) => bytes.push(byte),
            Err(err) => {
                bad_item.get_or_insert(err);
            }
        }
    }
    Ok((PyByteArray::new(py, &bytes), bad_item))
}

/// An int-like item (`__index__`, as `bytearray()` takes); `Ok(Err(..))`
/// for one out of 0..255.
fn parse_byte(index: usize, item: &Bound<'_, PyAny>) -> PyResult<Result<u8, PyErr>> {
    if !(item.is_instance_of::<PyInt>() || item.hasattr("__index__")?) || item.is_instance_of::<PyFloat>() {
        return Err(wrong_type(&format!("data[{index}] must be an int in 0..255"), item));
    }
    Ok(item.extract::<u8>().map_err(|_| {
        let shown = item.repr().map(|r| r.to_string()).unwrap_or_default();
        PyValueError::new_err(format!("data[{index}] is {shown}, must be in 0..255"))
    }))
}
