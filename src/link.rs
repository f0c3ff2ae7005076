//! Interface management: what `ip link` does, over rtnetlink.
//!
//! The `socketcan` crate's [`CanInterface`] brings interfaces up and down,
//! creates vcans and sets the CAN parameters; the rest (reading kind, queue
//! length and statistics, vxcan pairs, setting the queue length and the MTU)
//! is plain rtnetlink through neli, the crate the socketcan crate itself
//! builds on.

use std::ffi::CStr;
use std::fs;
use std::os::raw::c_int;
use std::thread;
use std::time::{Duration, Instant};

use neli::attr::{AttrHandle, Attribute};
use neli::consts::nl::{NlmF, NlmFFlags};
use neli::consts::rtnl::{Arphrd, IffFlags, Ifla, IflaInfo, RtAddrFamily, Rtm};
use neli::consts::socket::NlFamily;
use neli::err::{NlError, WrappedError};
use neli::nl::{NlPayload, Nlmsghdr};
use neli::rtnl::{Ifinfomsg, Rtattr};
use neli::socket::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use socketcan::nl::{CanBitTiming, CanCtrlMode, CanCtrlModes, CanState, Mtu};
use socketcan::{CanInterface, InterfaceCanParams};

use crate::error::Error;
use crate::socket::interface_index;

/// The longest [`up`] waits for the kernel to activate an interface.
const OPERATIONAL_WAIT: Duration = Duration::from_secs(2);
/// `ARPHRD_CAN`, the link type of every CAN interface.
const ARPHRD_CAN: &str = "280";
/// `VXCAN_INFO_PEER`: the nested description of a vxcan's peer.
const VXCAN_INFO_PEER: u16 = 1;
/// `IFLA_CAN_CTRLMODE` (linux/can/netlink.h).
const IFLA_CAN_CTRLMODE: u16 = 5;
/// `CANXL_MIN_MTU` and `CANXL_MAX_MTU` (linux/can.h): the MTUs of an
/// interface that carries CAN XL frames, of up to MTU - 12 data bytes.
const CANXL_MTUS: std::ops::RangeInclusive<u32> = 76..=2060;

/// Whether some CAN interface may take `mtu`: classic CAN's, CAN FD's or
/// one in CAN XL's range. Which of them an interface takes, its driver
/// decides (vcan on a kernel without CAN XL takes the first two only).
fn is_can_mtu(mtu: u32) -> bool {
    mtu == Mtu::Standard as u32 || mtu == Mtu::Fd as u32 || CANXL_MTUS.contains(&mtu)
}

/// Packet counters of an interface (the first fields of `rtnl_link_stats64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStatistics {
    /// Frames received.
    pub rx_packets: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frames dropped on receipt, before any socket.
    pub rx_dropped: u64,
    /// Frames dropped on sending.
    pub tx_dropped: u64,
}

/// A controller's bit timing, as the kernel computed it (`struct can_bittiming`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BitTiming {
    /// Bits per second.
    pub bitrate: u32,
    /// In tenths of a percent (875 is 87.5 %).
    pub sample_point: u32,
    /// The time quantum in nanoseconds.
    pub tq: u32,
    /// Propagation segment, in time quanta.
    pub prop_seg: u32,
    /// Phase segment 1, in time quanta.
    pub phase_seg1: u32,
    /// Phase segment 2, in time quanta.
    pub phase_seg2: u32,
    /// Synchronisation jump width, in time quanta.
    pub sjw: u32,
    /// The bit-rate prescaler.
    pub brp: u32,
}

impl From<CanBitTiming> for BitTiming {
    fn from(t: CanBitTiming) -> Self {
        Self {
            bitrate: t.bitrate,
            sample_point: t.sample_point,
            tq: t.tq,
            prop_seg: t.prop_seg,
            phase_seg1: t.phase_seg1,
            phase_seg2: t.phase_seg2,
            sjw: t.sjw,
            brp: t.brp,
        }
    }
}

/// What `ip -details -statistics link show` tells about a CAN interface.
#[derive(Clone, Debug, Default)]
pub struct LinkInfo {
    /// The interface name.
    pub name: String,
    /// The interface index.
    pub index: u32,
    /// `vcan`, `vxcan`, `can`, ... (the rtnetlink link kind).
    pub kind: String,
    /// Whether the interface is administratively up.
    pub up: bool,
    /// RFC 2863 state as `ip` shows it: `UP`, `DOWN`, `UNKNOWN` (no carrier
    /// notion, as vcan), `LOWERLAYERDOWN` (a vxcan whose peer is down), ...
    pub operstate: &'static str,
    /// The queueing discipline attached (`noop` while down).
    pub qdisc: String,
    /// Whether the interface has a carrier (a vxcan: its peer is up).
    pub carrier: bool,
    /// How often the carrier came up: events the kernel handles afterwards.
    carrier_ups: u32,
    /// The interface this one is linked to in this network namespace: a
    /// vxcan's peer.
    peer: Option<u32>,
    /// Whether that link is to another network namespace.
    peer_elsewhere: bool,
    /// The MTU: 16 classic CAN, 72 CAN FD, 76 to 2060 CAN XL (see [`LinkInfo::xl`]).
    pub mtu: u32,
    /// The transmit queue length, in frames.
    pub txqueuelen: u32,
    /// Bits per second; only real controllers have one.
    pub bitrate: Option<u32>,
    /// In tenths of a percent (875 is 87.5 %).
    pub sample_point: Option<u32>,
    /// CAN FD's data-phase bits per second.
    pub data_bitrate: Option<u32>,
    /// The whole bit timing (the bitrate's), and CAN FD's data phase's.
    pub bit_timing: Option<BitTiming>,
    /// The data phase's bit timing (CAN FD).
    pub data_bit_timing: Option<BitTiming>,
    /// The controller's modes, `CAN_CTRLMODE_*` bits (`flags` of `IFLA_CAN_CTRLMODE`).
    pub ctrlmode: Option<u32>,
    /// `ERROR-ACTIVE`, `ERROR-WARNING`, `ERROR-PASSIVE`, `BUS-OFF`, `STOPPED`, `SLEEPING`.
    pub state: Option<&'static str>,
    /// How long after bus-off the controller restarts itself; 0 never.
    pub restart_ms: Option<u32>,
    /// The controller's clock in Hz.
    pub clock: Option<u32>,
    /// Transmit and receive error counters.
    pub berr_counter: Option<(u16, u16)>,
    /// Packet counters.
    pub statistics: LinkStatistics,
}

impl LinkInfo {
    /// Whether frames sent now would flow, as far as the kernel's own
    /// bookkeeping goes: the kernel activates an interface's queue when it
    /// handles a carrier-up event (asynchronously, "linkwatch"), which also
    /// sets the operstate to UP. Until then the operstate is what it was
    /// before: UNKNOWN when new, DOWN when the carrier was off. An interface
    /// whose carrier never changed (vcan) was activated when brought up; one
    /// without carrier waits for its lower layer, not for us.
    fn operational(&self) -> bool {
        !self.up || !self.carrier || self.carrier_ups == 0 || self.operstate == "UP"
    }

    /// Whether the interface carries CAN XL frames: its MTU is in CAN XL's
    /// range, 76 to 2060 (2060, `CANXL_MTU`, carries the longest, of 2048
    /// data bytes; newer kernels create vcan and vxcan with it).
    pub fn xl(&self) -> bool {
        CANXL_MTUS.contains(&self.mtu)
    }

    /// Whether the interface is a virtual one, which has no bit timing.
    pub fn is_virtual(&self) -> bool {
        matches!(self.kind.as_str(), "vcan" | "vxcan")
    }
}

/// Changes for [`set`]; `None` leaves a setting as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    /// Bits per second.
    pub bitrate: Option<u32>,
    /// In tenths of a percent.
    pub sample_point: Option<u32>,
    /// CAN FD's data-phase bits per second.
    pub data_bitrate: Option<u32>,
    /// CAN FD on or off.
    pub fd: Option<bool>,
    /// Milliseconds after bus-off before an automatic restart; 0 never.
    pub restart_ms: Option<u32>,
    /// The transmit queue length, in frames.
    pub txqueuelen: Option<u32>,
    /// The MTU: 16 classic CAN, 72 CAN FD, 76 to 2060 CAN XL, as far as
    /// the interface's driver takes them (the kernel decides).
    pub mtu: Option<u32>,
}

/// An example of CAN FD settings, for the errors that ask for them.
const FD_EXAMPLE: &str = "bitrate=500000, data_bitrate=2000000, fd=True \
     (ferrocan link set: bitrate 500000 dbitrate 2000000 fd on)";

impl Settings {
    /// Refuses settings the kernel cannot take together, whatever the interface.
    fn check(&self) -> Result<(), Error> {
        // Refused here, not by the kernel, so that the interface is not
        // taken down and up for nothing.
        if let Some(mtu) = self.mtu.filter(|m| !is_can_mtu(*m)) {
            return Err(Error::BadMtu { mtu });
        }
        if self.sample_point.is_some() && self.bitrate.is_none() {
            return Err(Error::LinkSettings {
                problem: "sample_point needs bitrate: the kernel computes the bit timing from the two \
                          together",
                example: "bitrate=500000, sample_point=0.875 \
                          (ferrocan link set: bitrate 500000 sample-point 0.875)",
            });
        }
        // The kernel takes CAN FD mode only with both bit timings in the same
        // request, and a data bit timing only with CAN FD mode (can_validate).
        let fd_on = self.fd == Some(true);
        if self.data_bitrate.is_some() && !fd_on {
            return Err(Error::LinkSettings {
                problem: "data_bitrate needs fd=True and bitrate: the kernel sets the data bit \
                          timing only together with CAN FD mode and the bitrate",
                example: FD_EXAMPLE,
            });
        }
        if fd_on && (self.bitrate.is_none() || self.data_bitrate.is_none()) {
            return Err(Error::LinkSettings {
                problem: "fd=True needs bitrate and data_bitrate: the kernel switches CAN FD mode \
                          on only together with both bit timings",
                example: FD_EXAMPLE,
            });
        }
        Ok(())
    }

    /// The CAN settings (`IFLA_INFO_DATA`), which go to the kernel in one
    /// request: it validates them as a whole. `None` when there are none.
    fn can_params(&self) -> Option<InterfaceCanParams> {
        let timing = |bitrate, sample_point: Option<u32>| CanBitTiming {
            bitrate,
            sample_point: sample_point.unwrap_or(0), // 0: the kernel's default
            ..CanBitTiming::default()
        };
        let params = InterfaceCanParams {
            bit_timing: self.bitrate.map(|b| timing(b, self.sample_point)),
            data_bit_timing: self.data_bitrate.map(|b| timing(b, None)),
            ctrl_mode: self.fd.map(|fd| CanCtrlModes::from_mode(CanCtrlMode::Fd, fd)),
            restart_ms: self.restart_ms,
            ..InterfaceCanParams::default()
        };
        let any = params.bit_timing.is_some()
            || params.data_bit_timing.is_some()
            || params.ctrl_mode.is_some()
            || params.restart_ms.is_some();
        any.then_some(params)
    }

    /// The first controller setting given (bit timing, restart-ms, CAN FD
    /// mode): virtual interfaces have none.
    fn controller_setting(&self) -> Option<&'static str> {
        [
            (self.bitrate.is_some(), "bitrate"),
            (self.sample_point.is_some(), "sample point"),
            (self.data_bitrate.is_some(), "data bitrate"),
            (self.restart_ms.is_some(), "restart-ms"),
            (
                self.fd.is_some(),
                "CAN FD mode (its MTU decides: 72 carries CAN FD frames, 16 classic ones only)",
            ),
        ]
        .into_iter()
        .find_map(|(given, what)| given.then_some(what))
    }

    /// Whether the kernel only takes these changes while the interface is down.
    fn need_down(&self) -> bool {
        self.bitrate.is_some()
            || self.sample_point.is_some()
            || self.data_bitrate.is_some()
            || self.restart_ms.is_some()
            || self.fd.is_some()
            || self.mtu.is_some()
    }
}

/// Every CAN interface, in index order.
pub fn list() -> Result<Vec<LinkInfo>, Error> {
    let mut links = Vec::new();
    for entry in fs::read_dir("/sys/class/net").map_err(|e| Error::Link {
        channel: String::new(),
        action: "list",
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_can = fs::read_to_string(entry.path().join("type")).is_ok_and(|t| t.trim() == ARPHRD_CAN);
        // An interface may vanish between the listing and the query.
        if let (true, Ok(link)) = (is_can, show(&name)) {
            links.push(link);
        }
    }
    links.sort_by_key(|link| link.index);
    Ok(links)
}

/// Everything known about interface `name`.
pub fn show(name: &str) -> Result<LinkInfo, Error> {
    read_link(name, interface_index(name)?)
}

/// Interface `index`; `name` is the one its errors name.
fn read_link(name: &str, index: u32) -> Result<LinkInfo, Error> {
    let message = query(index).map_err(|e| failure(name, "read", &e))?;
    let mut link = LinkInfo {
        index,
        up: message.ifi_flags.contains(&neli::consts::rtnl::Iff::Up),
        ..Default::default()
    };
    for attr in message.rtattrs.iter() {
        read_attribute(&mut link, attr).map_err(|e| failure(name, "read", &e))?;
    }
    Ok(link)
}

/// Creates the vcan interface `name` (down).
pub fn add_vcan(name: &str) -> Result<(), Error> {
    CanInterface::create_vcan(name, None).map(drop).map_err(|e| failure(name, "create", &e))
}

/// Creates the vxcan tunnel `name` ⇄ `peer`: what one end sends, the other receives.
pub fn add_vxcan(name: &str, peer: &str) -> Result<(), Error> {
    let build = || -> Result<Ifinfomsg, NlError> {
        // The peer is described as a nested ifinfomsg followed by its attributes.
        let mut peer_info = Rtattr::new(None, VXCAN_INFO_PEER, Buffer::from(vec![0u8; 16]))?;
        peer_info.add_nested_attribute(&Rtattr::new(None, Ifla::Ifname, peer)?)?;
        let mut data = Rtattr::new(None, IflaInfo::Data, Buffer::new())?;
        data.add_nested_attribute(&peer_info)?;
        let mut linkinfo = Rtattr::new(None, Ifla::Linkinfo, Buffer::new())?;
        linkinfo.add_nested_attribute(&Rtattr::new(None, IflaInfo::Kind, "vxcan")?)?;
        linkinfo.add_nested_attribute(&data)?;
        let mut attrs = RtBuffer::new();
        attrs.push(Rtattr::new(None, Ifla::Ifname, name)?);
        attrs.push(linkinfo);
        Ok(info_message(0, attrs))
    };
    let request = build().map_err(|e| failure(name, "create", &e))?;
    send(Rtm::Newlink, request, &[NlmF::Create, NlmF::Excl]).map_err(|e| failure(name, "create", &e))
}

/// Deletes interface `name`.
pub fn delete(name: &str) -> Result<(), Error> {
    open(name)?.delete().map_err(|(_, e)| failure(name, "delete", &e))
}

/// Brings `name` up and returns once the kernel carries frames on it:
/// until then (the kernel activates it asynchronously, up to a second
/// later) it silently drops what is sent. A vxcan's peer gets its carrier
/// from this end coming up, so it is waited for too.
pub fn up(name: &str) -> Result<(), Error> {
    open(name)?.bring_up().map_err(|e| failure(name, "bring up", &e))?;
    let link = wait_operational(name, interface_index(name)?)?;
    if let (Some(peer), false) = (link.peer, link.peer_elsewhere) {
        wait_operational(name, peer)?;
    }
    Ok(())
}

/// Interface `index` (reached from `name`) once it is operational, or as it
/// is after [`OPERATIONAL_WAIT`].
fn wait_operational(name: &str, index: u32) -> Result<LinkInfo, Error> {
    let deadline = Instant::now() + OPERATIONAL_WAIT;
    loop {
        let link = read_link(name, index)?;
        if link.operational() || Instant::now() >= deadline {
            return Ok(link);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Brings `name` down.
pub fn down(name: &str) -> Result<(), Error> {
    open(name)?.bring_down().map_err(|e| failure(name, "bring down", &e))
}

/// Restarts a controller in bus-off by hand (when restart-ms is 0).
pub fn restart(name: &str) -> Result<(), Error> {
    open(name)?.restart().map_err(|e| failure(name, "restart", &e))
}

/// Applies `settings` in the order the kernel needs: an interface that must
/// be down for them is taken down first and brought back up after, even if
/// a setting fails.
pub fn set(name: &str, settings: &Settings) -> Result<(), Error> {
    settings.check()?;
    let link = show(name)?;
    if let (true, Some(what)) = (link.is_virtual(), settings.controller_setting()) {
        return Err(Error::VirtualLink { channel: name.into(), kind: link.kind, what });
    }
    let bounce = link.up && settings.need_down();
    if bounce {
        down(name)?;
    }
    let applied = apply(name, link.index, settings);
    if bounce {
        up(name)?;
    }
    applied
}

fn apply(name: &str, index: u32, settings: &Settings) -> Result<(), Error> {
    let fail = |e: NlError| failure(name, "configure", &e);
    if let Some(request) = can_request(index, settings).map_err(fail)? {
        send(Rtm::Newlink, request, &[]).map_err(fail)?;
    }
    if let Some(mtu) = settings.mtu {
        set_link_attribute(index, Ifla::Mtu, mtu).map_err(|e| match netlink_errno(&e) {
            // The request carries the MTU alone: it is the MTU the driver refused.
            Some(libc::EINVAL) => Error::BadMtu { mtu },
            _ => fail(e),
        })?;
    }
    if let Some(txqueuelen) = settings.txqueuelen {
        set_link_attribute(index, Ifla::Txqlen, txqueuelen).map_err(fail)?;
    }
    Ok(())
}

/// The one request carrying every CAN setting (bit timing, data bit timing,
/// CAN FD mode, restart-ms), as `ip link set NAME type can ...` sends it:
/// the kernel takes CAN FD mode only with both bit timings in the same
/// request. `None` without CAN settings.
fn can_request(index: u32, settings: &Settings) -> Result<Option<Ifinfomsg>, NlError> {
    let Some(params) = settings.can_params() else { return Ok(None) };
    Ok(Some(info_message(index, RtBuffer::try_from(&params)?)))
}

fn open(name: &str) -> Result<CanInterface, Error> {
    Ok(CanInterface::open_iface(interface_index(name)?))
}

/// Sets one `u32` attribute of the link (`IFLA_MTU`, `IFLA_TXQLEN`).
fn set_link_attribute(index: u32, attribute: Ifla, value: u32) -> Result<(), NlError> {
    let mut attrs = RtBuffer::new();
    attrs.push(Rtattr::new(None, attribute, value)?);
    send(Rtm::Newlink, info_message(index, attrs), &[])
}

fn info_message(index: u32, attrs: RtBuffer<Ifla, Buffer>) -> Ifinfomsg {
    Ifinfomsg::new(
        RtAddrFamily::Unspecified,
        Arphrd::Netrom,
        index as c_int,
        IffFlags::empty(),
        IffFlags::empty(),
        attrs,
    )
}

/// Sends a request and waits for the kernel's acknowledgement.
fn send(kind: Rtm, info: Ifinfomsg, flags: &[NlmF]) -> Result<(), NlError> {
    let mut socket = NlSocketHandle::connect(NlFamily::Route, None, &[])?;
    let mut all = NlmFFlags::new(&[NlmF::Request, NlmF::Ack]);
    flags.iter().for_each(|f| all.set(f));
    socket.send(Nlmsghdr::new(None, kind, all, None, None, NlPayload::Payload(info)))?;
    // A refusal arrives as an Err (NLMSG_ERROR with its errno).
    match socket.recv::<u16, Buffer>()? {
        Some(Nlmsghdr { nl_payload: NlPayload::Ack(_), .. }) => Ok(()),
        _ => Err(NlError::NoAck),
    }
}

fn query(index: u32) -> Result<Ifinfomsg, NlError<Rtm, Ifinfomsg>> {
    let mut socket = NlSocketHandle::connect(NlFamily::Route, None, &[])?;
    let request = info_message(index, RtBuffer::new());
    socket.send(Nlmsghdr::new(
        None,
        Rtm::Getlink,
        NlmFFlags::new(&[NlmF::Request]),
        None,
        None,
        NlPayload::Payload(request),
    ))?;
    let reply: Nlmsghdr<Rtm, Ifinfomsg> = socket.recv()?.ok_or(NlError::NoAck)?;
    match reply.nl_payload {
        NlPayload::Payload(info) => Ok(info),
        _ => Err(NlError::NoAck),
    }
}

fn read_attribute(link: &mut LinkInfo, attr: &Rtattr<Ifla, Buffer>) -> Result<(), NlError<Rtm, Ifinfomsg>> {
    let payload = attr.rta_payload.as_ref();
    match attr.rta_type {
        Ifla::Ifname => link.name = c_string(payload),
        Ifla::Mtu => link.mtu = attr.get_payload_as::<u32>()?,
        Ifla::Qdisc => link.qdisc = c_string(payload),
        Ifla::Carrier => link.carrier = attr.get_payload_as::<u8>()? != 0,
        Ifla::CarrierUpCount => link.carrier_ups = attr.get_payload_as::<u32>()?,
        Ifla::Link => link.peer = Some(attr.get_payload_as::<u32>()?),
        Ifla::LinkNetnsid => link.peer_elsewhere = true,
        Ifla::Txqlen => link.txqueuelen = attr.get_payload_as::<u32>()?,
        Ifla::Operstate => link.operstate = operstate_name(attr.get_payload_as::<u8>()?),
        Ifla::Stats64 => link.statistics = statistics(payload),
        Ifla::Linkinfo => {
            let handle = attr.get_attr_handle::<IflaInfo>()?;
            if let Some(kind) = handle.get_attribute(IflaInfo::Kind) {
                link.kind = c_string(kind.rta_payload.as_ref());
            }
            read_can(link, &InterfaceCanParams::try_from(attr)?);
            link.ctrlmode = ctrlmode_flags(&handle)?;
        }
        _ => {}
    }
    Ok(())
}

fn read_can(link: &mut LinkInfo, can: &InterfaceCanParams) {
    let timing = can.bit_timing.filter(|t| t.bitrate != 0);
    link.bitrate = timing.map(|t| t.bitrate);
    link.sample_point = timing.map(|t| t.sample_point);
    link.bit_timing = timing.map(BitTiming::from);
    let data_timing = can.data_bit_timing.filter(|t| t.bitrate != 0);
    link.data_bitrate = data_timing.map(|t| t.bitrate);
    link.data_bit_timing = data_timing.map(BitTiming::from);
    link.state = can.state.map(state_name);
    link.restart_ms = can.restart_ms;
    link.clock = can.clock.map(|c| c.freq);
    link.berr_counter = can.berr_counter.map(|b| (b.txerr, b.rxerr));
}

/// The `flags` of `IFLA_CAN_CTRLMODE` (`struct can_ctrlmode { mask, flags }`),
/// read here as the socketcan crate keeps its `can_ctrlmode` private.
fn ctrlmode_flags(
    linkinfo: &AttrHandle<'_, RtBuffer<IflaInfo, Buffer>, Rtattr<IflaInfo, Buffer>>,
) -> Result<Option<u32>, NlError<Rtm, Ifinfomsg>> {
    let Some(data) = linkinfo.get_attribute(IflaInfo::Data) else { return Ok(None) };
    let can = data.get_attr_handle::<u16>()?;
    Ok(can.get_attribute(IFLA_CAN_CTRLMODE).and_then(|cm| {
        let bytes = cm.rta_payload.as_ref().get(4..8)?;
        Some(u32::from_ne_bytes(bytes.try_into().expect("4 bytes")))
    }))
}

/// `IF_OPER_*` as `ip` names them.
fn operstate_name(state: u8) -> &'static str {
    match state {
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        6 => "UP",
        _ => "UNKNOWN",
    }
}

fn state_name(state: CanState) -> &'static str {
    match state {
        CanState::ErrorActive => "ERROR-ACTIVE",
        CanState::ErrorWarning => "ERROR-WARNING",
        CanState::ErrorPassive => "ERROR-PASSIVE",
        CanState::BusOff => "BUS-OFF",
        CanState::Stopped => "STOPPED",
        CanState::Sleeping => "SLEEPING",
    }
}

/// The first eight counters of `struct rtnl_link_stats64`, native-endian u64s.
fn statistics(payload: &[u8]) -> LinkStatistics {
    let counter = |i: usize| {
        payload.get(i * 8..i * 8 + 8).map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
    };
    LinkStatistics {
        rx_packets: counter(0),
        tx_packets: counter(1),
        rx_bytes: counter(2),
        tx_bytes: counter(3),
        rx_errors: counter(4),
        tx_errors: counter(5),
        rx_dropped: counter(6),
        tx_dropped: counter(7),
    }
}

fn c_string(bytes: &[u8]) -> String {
    CStr::from_bytes_until_nul(bytes)
        .map_or_else(|_| String::from_utf8_lossy(bytes).into_owned(), |s| s.to_string_lossy().into_owned())
}

/// The error for `action` on `name` that netlink refused.
fn failure<T, P>(name: &str, action: &'static str, error: &NlError<T, P>) -> Error {
    match netlink_errno(error) {
        Some(libc::EPERM | libc::EACCES) => Error::NotPermitted { channel: name.into(), action },
        Some(libc::ENODEV) => Error::NoSuchInterface { channel: name.into() },
        errno => Error::Link { channel: name.into(), action, errno: errno.unwrap_or(libc::EIO) },
    }
}

fn netlink_errno<T, P>(error: &NlError<T, P>) -> Option<i32> {
    match error {
        NlError::Nlmsgerr(err) => Some(-err.error),
        NlError::Wrapped(WrappedError::IOError(io)) => io.raw_os_error(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use neli::{FromBytesWithInput, Size, ToBytes};

    use super::*;

    /// `IFLA_CAN_*` (linux/can/netlink.h).
    const BITTIMING: u16 = 1;
    const RESTART_MS: u16 = 6;
    const DATA_BITTIMING: u16 = 9;
    /// `CAN_CTRLMODE_FD`.
    const FD: u32 = 0x20;

    /// The request as the kernel receives it: serialized, then parsed back.
    fn on_the_wire(settings: &Settings) -> Ifinfomsg {
        let request = can_request(7, settings).expect("built").expect("CAN settings given");
        let mut bytes = Cursor::new(Vec::new());
        request.to_bytes(&mut bytes).expect("serialized");
        let bytes = bytes.into_inner();
        assert_eq!(bytes.len(), request.unpadded_size());
        Ifinfomsg::from_bytes_with_input(&mut Cursor::new(&bytes[..]), bytes.len()).expect("parsed")
    }

    /// The `IFLA_INFO_DATA` attributes (type, payload) of the only `IFLA_LINKINFO`.
    fn can_data(message: &Ifinfomsg) -> Vec<(u16, Vec<u8>)> {
        let attrs: Vec<_> = message.rtattrs.iter().collect();
        assert_eq!(attrs.len(), 1, "one attribute, IFLA_LINKINFO: {attrs:?}");
        assert_eq!(attrs[0].rta_type, Ifla::Linkinfo);
        let info = attrs[0].get_attr_handle::<IflaInfo>().expect("nested");
        let kind = info.get_attribute(IflaInfo::Kind).expect("IFLA_INFO_KIND");
        assert_eq!(c_string(kind.rta_payload.as_ref()), "can");
        let data = info.get_attribute(IflaInfo::Data).expect("IFLA_INFO_DATA");
        let can = data.get_attr_handle::<u16>().expect("nested");
        can.iter().map(|a| (a.rta_type, a.rta_payload.as_ref().to_vec())).collect()
    }

    fn words(payload: &[u8]) -> Vec<u32> {
        payload.chunks(4).map(|w| u32::from_ne_bytes(w.try_into().expect("4 bytes"))).collect()
    }

    #[test]
    fn can_fd_goes_in_one_request_with_both_bit_timings() {
        let settings = Settings {
            bitrate: Some(500_000),
            sample_point: Some(800),
            data_bitrate: Some(2_000_000),
            fd: Some(true),
            restart_ms: Some(100),
            ..Settings::default()
        };
        settings.check().expect("a whole CAN FD configuration");
        let message = on_the_wire(&settings);
        assert_eq!(message.ifi_index, 7);
        let data = can_data(&message);
        let types: Vec<u16> = data.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, [BITTIMING, RESTART_MS, IFLA_CAN_CTRLMODE, DATA_BITTIMING]);
        // struct can_bittiming: bitrate, sample_point, then what the kernel computes.
        assert_eq!(words(&data[0].1), [500_000, 800, 0, 0, 0, 0, 0, 0]);
        assert_eq!(words(&data[1].1), [100]);
        // struct can_ctrlmode: mask, flags.
        assert_eq!(words(&data[2].1), [FD, FD]);
        assert_eq!(words(&data[3].1), [2_000_000, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn fd_off_and_restart_ms_alone_are_one_request_too() {
        let settings = Settings { fd: Some(false), ..Settings::default() };
        settings.check().expect("switching CAN FD off needs nothing else");
        let data = can_data(&on_the_wire(&settings));
        assert_eq!(data.len(), 1);
        assert_eq!((data[0].0, words(&data[0].1)), (IFLA_CAN_CTRLMODE, vec![FD, 0]));
        let settings = Settings { restart_ms: Some(0), ..Settings::default() };
        assert_eq!(can_data(&on_the_wire(&settings)), [(RESTART_MS, vec![0; 4])]);
    }

    #[test]
    fn xl_is_can_xl_s_range_of_mtus() {
        let xl = |mtu| LinkInfo { mtu, ..LinkInfo::default() }.xl();
        assert!(!xl(16) && !xl(72) && !xl(75) && !xl(2061));
        assert!(xl(76) && xl(100) && xl(2060));
    }

    #[test]
    fn mtus_no_can_interface_takes_are_refused_first() {
        for mtu in [0, 15, 20, 71, 73, 75, 2061, 4096] {
            let error = Settings { mtu: Some(mtu), ..Settings::default() }.check().expect_err("refused");
            assert!(matches!(error, Error::BadMtu { mtu: m } if m == mtu), "{error}");
        }
        for mtu in [16, 72, 76, 2060] {
            Settings { mtu: Some(mtu), ..Settings::default() }.check().expect("a CAN MTU");
        }
    }

    #[test]
    fn settings_without_can_ones_send_no_can_request() {
        let settings = Settings { mtu: Some(72), txqueuelen: Some(10), ..Settings::default() };
        assert!(can_request(7, &settings).expect("built").is_none());
    }

    #[test]
    fn settings_the_kernel_only_takes_together_are_refused_first() {
        let refused = |settings: Settings| settings.check().expect_err("refused").to_string();
        let text = refused(Settings { sample_point: Some(875), ..Settings::default() });
        assert!(text.starts_with("sample_point needs bitrate: "), "{text}");
        for fd in [None, Some(false)] {
            let text = refused(Settings {
                bitrate: Some(500_000),
                data_bitrate: Some(2_000_000),
                fd,
                ..Settings::default()
            });
            assert!(text.starts_with("data_bitrate needs fd=True and bitrate: "), "{text}");
        }
        for (bitrate, data_bitrate) in [(None, None), (Some(500_000), None), (None, Some(2_000_000))] {
            let text = refused(Settings { bitrate, data_bitrate, fd: Some(true), ..Settings::default() });
            assert!(text.starts_with("fd=True needs bitrate and data_bitrate: "), "{text}");
            assert!(text.ends_with("(ferrocan link set: bitrate 500000 dbitrate 2000000 fd on)"), "{text}");
        }
    }
}
