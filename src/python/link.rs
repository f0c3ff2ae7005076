//! `ferrocan._native.link_*`: interface management for `ferrocan.link`.
//! Queries come back as dicts (a cold path); `ferrocan.link` makes them
//! frozen dataclasses.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::to_pyerr;
use crate::link::{self, BitTiming, LinkInfo, Settings};

#[pyfunction]
pub fn link_list(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let links = py.detach(link::list).map_err(to_pyerr)?;
    links.iter().map(|info| as_dict(py, info)).collect()
}

#[pyfunction]
pub fn link_show<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let info = py.detach(|| link::show(name)).map_err(to_pyerr)?;
    as_dict(py, &info)
}

#[pyfunction]
pub fn link_add_vcan(py: Python<'_>, name: &str) -> PyResult<()> {
    py.detach(|| link::add_vcan(name)).map_err(to_pyerr)
}

#[pyfunction]
pub fn link_add_vxcan(py: Python<'_>, name: &str, peer: &str) -> PyResult<()> {
    py.detach(|| link::add_vxcan(name, peer)).map_err(to_pyerr)
}

#[pyfunction]
pub fn link_delete(py: Python<'_>, name: &str) -> PyResult<()> {
    py.detach(|| link::delete(name)).map_err(to_pyerr)
}

#[pyfunction]
pub fn link_up(py: Python<'_>, name: &str) -> PyResult<()> {
    py.detach(|| link::up(name)).map_err(to_pyerr)
}

#[pyfunction]
pub fn link_down(py: Python<'_>, name: &str) -> PyResult<()> {
    py.detach(|| link::down(name)).map_err(to_pyerr)
}

#[pyfunction]
pub fn link_restart(py: Python<'_>, name: &str) -> PyResult<()> {
    py.detach(|| link::restart(name)).map_err(to_pyerr)
}

/// Sample point in tenths of a percent; `ferrocan.link.set` has checked every value.
#[pyfunction]
#[pyo3(signature = (name, bitrate, sample_point, data_bitrate, fd, restart_ms, txqueuelen, mtu))]
#[allow(clippy::too_many_arguments)]
pub fn link_set(
    py: Python<'_>,
    name: &str,
    bitrate: Option<u32>,
    sample_point: Option<u32>,
    data_bitrate: Option<u32>,
    fd: Option<bool>,
    restart_ms: Option<u32>,
    txqueuelen: Option<u32>,
    mtu: Option<u32>,
) -> PyResult<()> {
    let settings = Settings { bitrate, sample_point, data_bitrate, fd, restart_ms, txqueuelen, mtu };
    py.detach(|| link::set(name, &settings)).map_err(to_pyerr)
}

fn as_dict<'py>(py: Python<'py>, info: &LinkInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("name", &info.name)?;
    dict.set_item("index", info.index)?;
    dict.set_item("kind", &info.kind)?;
    dict.set_item("up", info.up)?;
    dict.set_item("operstate", info.operstate)?;
    dict.set_item("qdisc", &info.qdisc)?;
    dict.set_item("carrier", info.carrier)?;
    dict.set_item("mtu", info.mtu)?;
    dict.set_item("xl", info.xl())?;
    dict.set_item("txqueuelen", info.txqueuelen)?;
    dict.set_item("bitrate", info.bitrate)?;
    dict.set_item("sample_point", info.sample_point)?;
    dict.set_item("data_bitrate", info.data_bitrate)?;
    dict.set_item("bit_timing", info.bit_timing.map(|t| timing_dict(py, &t)).transpose()?)?;
    dict.set_item("data_bit_timing", info.data_bit_timing.map(|t| timing_dict(py, &t)).transpose()?)?;
    dict.set_item("ctrlmode", info.ctrlmode)?;
    dict.set_item("state", info.state)?;
    dict.set_item("restart_ms", info.restart_ms)?;
    dict.set_item("clock", info.clock)?;
    dict.set_item("berr_counter", info.berr_counter)?;
    let s = &info.statistics;
    let stats = PyDict::new(py);
    for (key, value) in [
        ("rx_packets", s.rx_packets),
        ("tx_packets", s.tx_packets),
        ("rx_bytes", s.rx_bytes),
        ("tx_bytes", s.tx_bytes),
        ("rx_errors", s.rx_errors),
        ("tx_errors", s.tx_errors),
        ("rx_dropped", s.rx_dropped),
        ("tx_dropped", s.tx_dropped),
    ] {
        stats.set_item(key, value)?;
    }
    dict.set_item("statistics", stats)?;
    Ok(dict)
}

/// A `struct can_bittiming`; the sample point in tenths of a percent.
fn timing_dict<'py>(py: Python<'py>, t: &BitTiming) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in [
        ("bitrate", t.bitrate),
        ("sample_point", t.sample_point),
        ("tq", t.tq),
        ("prop_seg", t.prop_seg),
        ("phase_seg1", t.phase_seg1),
        ("phase_seg2", t.phase_seg2),
        ("sjw", t.sjw),
        ("brp", t.brp),
    ] {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}
