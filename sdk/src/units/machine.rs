//! Machines: the resources an ask offers or a bid needs, sizes in bytes, network flags.

use std::{fmt, str::FromStr};

use alloy::primitives::U256;

use super::{
    ParseError, ParseErrorKind, Usd,
    fixed::{self, Fixed},
    mul_div_down,
};
use crate::bindings::IMarket;

bitflags::bitflags! {
    /// Network capabilities of a machine (an ask's `netFlags`) or those a customer requires (a
    /// bid's `requiredFlags`): an ask matches when it has every required bit. Bits without a name
    /// here are kept as given, for capabilities agreed between parties.
    ///
    /// Formats as `"PUBLIC_IP | INCOMING"` (unnamed bits in hex, `"0x10"`; no flag is `"none"`),
    /// or as a list, `"public-ip,incoming"`, with [`NetFlags::list`]; parses from either form, names
    /// in any case with `-` or `_`:
    ///
    /// ```
    /// use snm_sdk::units::NetFlags;
    ///
    /// let flags: NetFlags = "public-ip,incoming".parse()?;
    /// assert_eq!(flags, NetFlags::PUBLIC_IP | NetFlags::INCOMING);
    /// assert_eq!(flags.to_string(), "PUBLIC_IP | INCOMING");
    /// assert_eq!(flags.list().to_string(), "public-ip,incoming");
    /// assert_eq!("PUBLIC_IP | 0x100".parse::<NetFlags>()?.list().to_string(), "public-ip,0x100");
    /// # Ok::<(), snm_sdk::units::ParseError>(())
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct NetFlags: u64 {
        /// Bit 0: the machine has a public IP address.
        const PUBLIC_IP = 1 << 0;
        /// Bit 1: it accepts incoming connections.
        const INCOMING = 1 << 1;
        /// Bit 2: it may open outbound connections to any host.
        const OUTBOUND = 1 << 2;
        /// Bit 3: it has a public IPv6 address.
        const IPV6 = 1 << 3;
        // Every other bit is kept as given.
        const _ = !0;
    }
}

impl NetFlags {
    /// These flags as a comma-separated list (`public-ip,incoming,0x100`, `none`), as people type
    /// them on a command line; [`FromStr`] reads it back.
    pub fn list(self) -> impl fmt::Display {
        FlagList(self)
    }
}

impl fmt::Display for NetFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        bitflags::parser::to_writer(self, f)
    }
}

/// [`NetFlags::list`].
struct FlagList(NetFlags);

impl fmt::Display for FlagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let mut separator = "";
        let mut named = 0;
        for (name, flag) in self.0.iter_names() {
            f.write_str(separator)?;
            f.write_str(&name.to_ascii_lowercase().replace('_', "-"))?;
            separator = ",";
            named |= flag.bits();
        }
        let other = self.0.bits() & !named;
        if other != 0 {
            write!(f, "{separator}{other:#x}")?;
        }
        Ok(())
    }
}

impl FromStr for NetFlags {
    type Err = ParseError;

    /// Flags separated by `|` or `,`: names (`PUBLIC_IP`, `public-ip`, any case) or bits in hex
    /// (`0x10`); `none` is no flag.
    fn from_str(input: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "network flags separated by `,` or `|`: public-ip, incoming, outbound, \
                                ipv6 (any case, `-` or `_`) or bits in hex such as `0x10`; or `none`";
        let error = |kind| ParseError::new(input, kind, EXPECTED);
        if input.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::empty());
        }
        input.split(['|', ',']).try_fold(Self::empty(), |flags, item| {
            let item = item.trim();
            let flag = match item.strip_prefix("0x").or_else(|| item.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16)
                    .map(Self::from_bits_retain)
                    .map_err(|_| error(ParseErrorKind::NotANumber))?,
                None => Self::from_name(&item.to_ascii_uppercase().replace('-', "_"))
                    .ok_or_else(|| error(ParseErrorKind::UnknownFlag))?,
            };
            Ok(flags | flag)
        })
    }
}

/// A machine's resources (an ask's), or the least of each a customer needs (a bid's), in the
/// contract's units; build it with the unit-taking methods:
///
/// ```
/// use snm_sdk::units::{Bytes, Resources};
///
/// let needed = Resources::new().cpu_cores(4).ram(Bytes::from_gib(16)).net_down_mbps(100);
/// assert_eq!(needed.cpu_milli_cores, 4_000);
/// assert!(Resources::new().cpu_cores(8).ram(Bytes::from_gib(32)).net_down_mbps(1_000).covers(&needed));
/// ```
///
/// Sizes above 2^64 − 1 bytes (18 EB) and rates above 2^64 − 1 bit/s are capped there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// CPU in thousandths of a core.
    pub cpu_milli_cores: u64,
    /// Memory, bytes.
    pub ram_bytes: u64,
    /// Disk, bytes.
    pub storage_bytes: u64,
    /// Number of GPUs.
    pub gpu_count: u64,
    /// Memory per GPU, bytes.
    pub gpu_mem_bytes: u64,
    /// Upload bandwidth, bits per second.
    pub net_up_bps: u64,
    /// Download bandwidth, bits per second.
    pub net_down_bps: u64,
}

fn capped(bytes: Bytes) -> u64 {
    u64::try_from(bytes.get()).unwrap_or(u64::MAX)
}

impl Resources {
    /// Nothing (every field zero): as a requirement, anything matches.
    pub const fn new() -> Self {
        Self {
            cpu_milli_cores: 0,
            ram_bytes: 0,
            storage_bytes: 0,
            gpu_count: 0,
            gpu_mem_bytes: 0,
            net_up_bps: 0,
            net_down_bps: 0,
        }
    }

    /// Whole CPU cores.
    pub const fn cpu_cores(self, cores: u64) -> Self {
        Self { cpu_milli_cores: cores.saturating_mul(1_000), ..self }
    }

    /// CPU in thousandths of a core.
    pub const fn cpu_milli_cores(self, milli_cores: u64) -> Self {
        Self { cpu_milli_cores: milli_cores, ..self }
    }

    /// Memory.
    pub fn ram(self, ram: Bytes) -> Self {
        Self { ram_bytes: capped(ram), ..self }
    }

    /// Disk.
    pub fn storage(self, storage: Bytes) -> Self {
        Self { storage_bytes: capped(storage), ..self }
    }

    /// Number of GPUs.
    pub const fn gpus(self, count: u64) -> Self {
        Self { gpu_count: count, ..self }
    }

    /// Memory per GPU.
    pub fn gpu_mem(self, memory: Bytes) -> Self {
        Self { gpu_mem_bytes: capped(memory), ..self }
    }

    /// Upload bandwidth in megabits (10^6 bits) per second.
    pub const fn net_up_mbps(self, mbps: u64) -> Self {
        Self { net_up_bps: mbps.saturating_mul(1_000_000), ..self }
    }

    /// Download bandwidth in megabits (10^6 bits) per second.
    pub const fn net_down_mbps(self, mbps: u64) -> Self {
        Self { net_down_bps: mbps.saturating_mul(1_000_000), ..self }
    }

    /// Whether these resources provide at least `needed` of each: the contract's
    /// `ResourcesTooLow` check.
    pub const fn covers(&self, needed: &Self) -> bool {
        self.cpu_milli_cores >= needed.cpu_milli_cores
            && self.ram_bytes >= needed.ram_bytes
            && self.storage_bytes >= needed.storage_bytes
            && self.gpu_count >= needed.gpu_count
            && self.gpu_mem_bytes >= needed.gpu_mem_bytes
            && self.net_up_bps >= needed.net_up_bps
            && self.net_down_bps >= needed.net_down_bps
    }
}

impl From<IMarket::Resources> for Resources {
    fn from(r: IMarket::Resources) -> Self {
        Self {
            cpu_milli_cores: r.cpuMilliCores,
            ram_bytes: r.ramBytes,
            storage_bytes: r.storageBytes,
            gpu_count: r.gpuCount,
            gpu_mem_bytes: r.gpuMemBytes,
            net_up_bps: r.netUpBps,
            net_down_bps: r.netDownBps,
        }
    }
}

impl From<Resources> for IMarket::Resources {
    fn from(r: Resources) -> Self {
        Self {
            cpuMilliCores: r.cpu_milli_cores,
            ramBytes: r.ram_bytes,
            storageBytes: r.storage_bytes,
            gpuCount: r.gpu_count,
            gpuMemBytes: r.gpu_mem_bytes,
            netUpBps: r.net_up_bps,
            netDownBps: r.net_down_bps,
        }
    }
}

/// An amount of data, in bytes.
///
/// Parses from a number with an optional unit, any case, spaces allowed: `B` or none, the decimal
/// units `KB`, `MB`, `GB`, `TB` (10^3 to 10^12 bytes, as traffic is billed and disks are sold;
/// decimals down to the byte: `1.5 TB`) and the binary units `KiB`, `MiB`, `GiB`, `TiB` (2^10 to
/// 2^40 bytes, as memory is counted; whole numbers: `16GiB`). Formats as `"1234 B"`, in TB with
/// [`Bytes::in_tb`] (`"1.5 TB"`), or in the largest unit it is a whole number of with
/// [`Bytes::in_whole_unit`] (`"16 GiB"`); serializes as a plain number of bytes.
///
/// ```
/// use snm_sdk::units::Bytes;
///
/// assert_eq!("16GiB".parse::<Bytes>()?, Bytes::from_gib(16));
/// assert_eq!("1.5 TB".parse::<Bytes>()?.in_tb().to_string(), "1.5 TB");
/// assert_eq!(Bytes::from_gb(500).in_whole_unit().to_string(), "500 GB");
/// # Ok::<(), snm_sdk::units::ParseError>(())
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(u128);

/// The units [`Bytes`] parses: name, the decimals a number in it may have (a decimal unit's
/// fraction is exact to the byte) and the bytes one of it holds beyond those decimals.
const BYTE_UNITS: [(&str, u8, u128); 10] = [
    ("", 0, 1),
    ("B", 0, 1),
    ("KB", 3, 1),
    ("MB", 6, 1),
    ("GB", 9, 1),
    ("TB", 12, 1),
    ("KiB", 0, 1 << 10),
    ("MiB", 0, 1 << 20),
    ("GiB", 0, 1 << 30),
    ("TiB", 0, 1 << 40),
];

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Self = Self(0);
    /// Bytes in one terabyte (10^12).
    pub const PER_TB: u128 = 1_000_000_000_000;

    /// A number of bytes.
    pub const fn new(bytes: u128) -> Self {
        Self(bytes)
    }

    /// A whole number of terabytes.
    pub const fn from_tb(tb: u64) -> Self {
        Self(tb as u128 * Self::PER_TB)
    }

    /// A whole number of gigabytes (10^9 bytes).
    pub const fn from_gb(gb: u64) -> Self {
        Self(gb as u128 * 1_000_000_000)
    }

    /// A whole number of gibibytes (2^30 bytes).
    pub const fn from_gib(gib: u64) -> Self {
        Self((gib as u128) << 30)
    }

    /// A whole number of megabytes (10^6 bytes).
    pub const fn from_mb(mb: u64) -> Self {
        Self(mb as u128 * 1_000_000)
    }

    /// A whole number of mebibytes (2^20 bytes).
    pub const fn from_mib(mib: u64) -> Self {
        Self((mib as u128) << 20)
    }

    /// The number of bytes.
    pub const fn get(self) -> u128 {
        self.0
    }

    /// The sum, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(sum) => Some(Self(sum)),
            None => None,
        }
    }

    /// The price of this much data at `usd_per_tb`, rounded down to 10^-18 USD; `None` on
    /// overflow.
    pub fn price_down(self, usd_per_tb: Usd) -> Option<Usd> {
        mul_div_down(U256::from(self.0), usd_per_tb.scaled(), U256::from(Self::PER_TB)).map(Usd::from_scaled)
    }

    /// The size in terabytes (10^12 bytes), exactly: `1.5 TB`, `0.000123456789 TB`, `0 TB`.
    pub fn in_tb(self) -> impl fmt::Display {
        Quantity(Fixed::from_u128(self.0, 12), "TB")
    }

    /// The size in the largest of TiB, GiB and MiB it is a whole number of, else of TB, GB and MB,
    /// else in bytes: `16 GiB`, `500 GB`, `1234 B`.
    pub fn in_whole_unit(self) -> impl fmt::Display {
        const UNITS: [(u128, &str); 6] = [
            (1 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (Bytes::PER_TB, "TB"),
            (1_000_000_000, "GB"),
            (1_000_000, "MB"),
        ];
        let unit = UNITS.into_iter().find(|&(unit, _)| self.0 != 0 && self.0.is_multiple_of(unit));
        let (unit, name) = unit.unwrap_or((1, "B"));
        Quantity(Fixed::from_u128(self.0 / unit, 0), name)
    }
}

/// A number and its unit, as `Bytes` displays them.
struct Quantity(Fixed, &'static str);

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} B", self.0)
    }
}

impl FromStr for Bytes {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        let error =
            |kind| ParseError::new(input, kind, "a size such as `1234`, `16GiB`, `500 GB` or `1.5 TB`");
        let (number, unit) = fixed::split_unit(input.trim());
        let (_, decimals, multiplier) = BYTE_UNITS
            .into_iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(unit))
            .ok_or_else(|| error(ParseErrorKind::Unit))?;
        let count: u128 = fixed::parse_ascii(number.as_bytes(), decimals).map_err(error)?;
        count.checked_mul(multiplier).map(Self).ok_or_else(|| error(ParseErrorKind::TooLarge))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() -> Result<(), ParseError> {
        assert_eq!("16GiB".parse::<Bytes>()?, Bytes::from_gib(16));
        assert_eq!("500 gb".parse::<Bytes>()?, Bytes::from_gb(500));
        assert_eq!("1.5 TB".parse::<Bytes>()?, Bytes::new(1_500_000_000_000));
        assert_eq!("0.5KB".parse::<Bytes>()?, Bytes::new(500));
        assert_eq!("4096".parse::<Bytes>()?, Bytes::new(4096));
        assert_eq!("42 B".parse::<Bytes>()?.to_string(), "42 B");
        assert_eq!("1 TiB".parse::<Bytes>()?, Bytes::new(1 << 40));
        let cases = [
            ("", ParseErrorKind::Empty),
            ("GiB", ParseErrorKind::Empty),
            ("TB", ParseErrorKind::Empty),
            ("-1", ParseErrorKind::Negative),
            ("-1GB", ParseErrorKind::Negative),
            ("1.5", ParseErrorKind::ExcessDecimals { max: 0 }),
            ("1.5GiB", ParseErrorKind::ExcessDecimals { max: 0 }),
            ("0.0000000000001 TB", ParseErrorKind::ExcessDecimals { max: 12 }),
            ("abc", ParseErrorKind::Unit),
            ("1e12", ParseErrorKind::Unit),
            ("16 GB/s", ParseErrorKind::Unit),
            ("1000000000000000000000000000000 TiB", ParseErrorKind::TooLarge),
        ];
        for (bad, kind) in cases {
            let error = bad.parse::<Bytes>().map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
        }
        Ok(())
    }

    #[test]
    fn sizes_display_in_tb_or_their_largest_whole_unit() {
        assert_eq!(Bytes::new(123_456_789).in_tb().to_string(), "0.000123456789 TB");
        assert_eq!(Bytes::from_tb(3).in_tb().to_string(), "3 TB");
        assert_eq!(Bytes::ZERO.in_tb().to_string(), "0 TB");
        assert_eq!(Bytes::from_gib(16).in_whole_unit().to_string(), "16 GiB");
        assert_eq!(Bytes::from_mib(3 << 10).in_whole_unit().to_string(), "3 GiB");
        assert_eq!(Bytes::from_gb(500).in_whole_unit().to_string(), "500 GB");
        assert_eq!(Bytes::from_tb(2).in_whole_unit().to_string(), "2 TB");
        assert_eq!(Bytes::new(1_234).in_whole_unit().to_string(), "1234 B");
        assert_eq!(Bytes::new(2_048).in_whole_unit().to_string(), "2048 B");
        assert_eq!(Bytes::ZERO.in_whole_unit().to_string(), "0 B");
    }

    #[test]
    fn prices_traffic_exactly() {
        assert_eq!(Bytes::from_tb(2).price_down(Usd::from_whole(4)), Some(Usd::from_whole(8)));
        // 1 byte at $4/TB is 4e-12 USD = 4_000_000 units of 1e-18.
        assert_eq!(
            Bytes::new(1).price_down(Usd::from_whole(4)),
            Some(Usd::from_scaled(U256::from(4_000_000)))
        );
        // 1 byte at 10^-18 USD/TB is 10^-30 USD: rounded down to nothing.
        assert_eq!(Bytes::new(1).price_down(Usd::from_scaled(U256::from(1))), Some(Usd::ZERO));
    }

    #[test]
    fn net_flags_in_both_forms() -> Result<(), ParseError> {
        let flags = NetFlags::PUBLIC_IP | NetFlags::INCOMING;
        assert_eq!(flags.bits(), 0b11);
        assert_eq!(flags.to_string(), "PUBLIC_IP | INCOMING");
        assert_eq!("PUBLIC_IP | INCOMING".parse::<NetFlags>()?, flags);
        assert_eq!("public-ip,incoming".parse::<NetFlags>()?, flags);
        assert_eq!("PUBLIC_IP, ipv6".parse::<NetFlags>()?, NetFlags::PUBLIC_IP | NetFlags::IPV6);
        assert_eq!("None".parse::<NetFlags>()?, NetFlags::empty());
        let custom = NetFlags::from_bits_retain(1 << 40) | NetFlags::IPV6;
        assert_eq!(custom.to_string().parse::<NetFlags>()?, custom);
        assert_eq!(custom.list().to_string().parse::<NetFlags>()?, custom);
        let custom = "outbound,0x100".parse::<NetFlags>()?;
        assert_eq!(
            (custom.list().to_string(), custom.to_string()),
            ("outbound,0x100".into(), "OUTBOUND | 0x100".into())
        );
        assert_eq!(flags.list().to_string(), "public-ip,incoming");
        assert_eq!(
            (NetFlags::empty().to_string(), NetFlags::empty().list().to_string()),
            ("none".into(), "none".into())
        );
        assert!(flags.contains(NetFlags::PUBLIC_IP) && !flags.contains(NetFlags::OUTBOUND));
        let cases = [
            ("PUBLIC", ParseErrorKind::UnknownFlag),
            ("public", ParseErrorKind::UnknownFlag),
            ("public-ip,", ParseErrorKind::UnknownFlag),
            ("", ParseErrorKind::UnknownFlag),
            ("0xzz", ParseErrorKind::NotANumber),
        ];
        for (bad, kind) in cases {
            let error = bad.parse::<NetFlags>().map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
        }
        Ok(())
    }

    #[test]
    fn resources_build_in_units_and_cover_needs() {
        let needed = Resources::new().cpu_cores(2).ram(Bytes::from_gib(8)).net_up_mbps(100);
        assert_eq!(
            (needed.cpu_milli_cores, needed.ram_bytes, needed.net_up_bps),
            (2_000, 8 << 30, 100_000_000)
        );
        let machine = Resources::new()
            .cpu_cores(4)
            .ram(Bytes::from_gb(16))
            .storage(Bytes::from_tb(1))
            .net_up_mbps(1_000);
        assert!(machine.covers(&needed) && !needed.covers(&machine));
        assert_eq!(Resources::new().ram(Bytes::new(u128::MAX)).ram_bytes, u64::MAX, "capped");
        let round_trip: Resources = IMarket::Resources::from(machine).into();
        assert_eq!(round_trip, machine);
    }
}
