//! Units as people type and read them on the command line, beside the SDK's own parsers: sizes
//! with binary or decimal units (`16GiB`, `500GB`), network flags as a list (`public-ip,incoming`),
//! prices per hour or per second, traffic in TB, CPU cores, gas with thousands separators.

use snm_sdk::{
    Error,
    units::{Bytes, NetFlags, UsdPerHour, UsdPerSecond},
};

/// Parses a size: a whole number with a unit `B`, `KB`, `MB`, `GB`, `TB` (powers of 10) or `KiB`,
/// `MiB`, `GiB`, `TiB` (powers of 2), any case, spaces allowed (`16GiB`, `500 GB`); or what
/// [`Bytes`] parses (`1234`, `1.5 TB`).
pub fn size(text: &str) -> Result<Bytes, Error> {
    let invalid = |reason| Error::Parse { input: text.to_owned(), reason };
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let multiplier: Option<u128> = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(1),
        "kb" => Some(1_000),
        "mb" => Some(1_000_000),
        "gb" => Some(1_000_000_000),
        "tb" => Some(Bytes::PER_TB),
        "kib" => Some(1 << 10),
        "mib" => Some(1 << 20),
        "gib" => Some(1 << 30),
        "tib" => Some(1 << 40),
        _ => None,
    };
    match (number.parse::<u128>(), multiplier) {
        (Ok(n), Some(m)) => n.checked_mul(m).map(Bytes::new).ok_or_else(|| invalid("too large")),
        _ => trimmed
            .parse::<Bytes>()
            .map_err(|_| invalid("expected a size such as `16GiB`, `500GB`, `1.5 TB` or a number of bytes")),
    }
}

/// Formats a size in the largest binary unit dividing it (`16 GiB`, `512 MiB`), else in decimal
/// units when one divides it (`500 GB`), else in bytes.
pub fn size_text(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    for (unit, name) in [(1u64 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB")] {
        if bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    for (unit, name) in [(1_000_000_000_000u64, "TB"), (1_000_000_000, "GB"), (1_000_000, "MB")] {
        if bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} B")
}

/// Parses network flags as a comma-separated list of the SDK's [`NetFlags`] names in lower case
/// with `-` for `_`: `public-ip`, `incoming`, `outbound`, `ipv6` (any case, `_` too), or bits
/// written in hex (`0x10`); `none` is no flag.
pub fn net_flags(text: &str) -> Result<NetFlags, Error> {
    let invalid = |reason| Error::Parse { input: text.to_owned(), reason };
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(NetFlags::empty());
    }
    let mut names = text.split(',').map(|part| part.trim().to_ascii_uppercase().replace('-', "_"));
    names.try_fold(NetFlags::empty(), |flags, name| {
        let flag = match name.strip_prefix("0X") {
            Some(hex) => u64::from_str_radix(hex, 16)
                .map(NetFlags::from_bits_retain)
                .map_err(|_| invalid("a flag bit in hex is `0x` and hex digits"))?,
            None => NetFlags::from_name(&name).ok_or_else(|| {
                invalid("network flags are public-ip, incoming, outbound, ipv6 (comma-separated) or hex bits")
            })?,
        };
        Ok(flags | flag)
    })
}

/// Formats network flags as [`net_flags`] reads them: the SDK's display of [`NetFlags`]
/// (`PUBLIC_IP | INCOMING | 0x100`, `none`) spelled `public-ip,incoming,0x100`.
pub fn net_flags_text(flags: NetFlags) -> String {
    flags.to_string().to_ascii_lowercase().replace('_', "-").replace(" | ", ",")
}

/// Parses a price as people quote it, per hour (`0.9 USD/h`, `$0.9/h`), or as the market stores it,
/// per second (`0.00025 USD/s`). A price per hour that is not a whole number of 10^-18 USD per
/// second is rounded down: as a customer's maximum, never above what was typed.
pub fn price(text: &str) -> Result<UsdPerSecond, Error> {
    match text.parse::<UsdPerHour>() {
        Ok(per_hour) => Ok(per_hour.to_per_second_down()),
        Err(per_hour_error) => text.parse::<UsdPerSecond>().map_err(|_| per_hour_error),
    }
}

/// Formats thousandths of a core as cores (`4`, `1.5`).
pub fn cores_text(milli_cores: u64) -> String {
    let (whole, fraction) = (milli_cores / 1_000, milli_cores % 1_000);
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{fraction:03}").trim_end_matches('0'))
    }
}

/// Formats traffic in terabytes (10^12 bytes), exactly: `1.5 TB`, `0.000123456789 TB`, `0 TB`.
pub fn tb_text(bytes: Bytes) -> String {
    let (whole, fraction) = (bytes.get() / Bytes::PER_TB, bytes.get() % Bytes::PER_TB);
    if fraction == 0 {
        format!("{whole} TB")
    } else {
        format!("{whole}.{} TB", format!("{fraction:012}").trim_end_matches('0'))
    }
}

pub use snm_sdk::gas::thousands;

/// `1 thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 { format!("1 {thing}") } else { format!("{n} {thing}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() -> Result<(), Error> {
        assert_eq!(size("16GiB")?, Bytes::from_gib(16));
        assert_eq!(size("500 gb")?, Bytes::from_gb(500));
        assert_eq!(size("1.5 TB")?, Bytes::new(1_500_000_000_000));
        assert_eq!(size("4096")?, Bytes::new(4096));
        for bad in ["", "GiB", "16 GB/s", "-1GB", "1.5GiB"] {
            assert!(size(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(size_text(16 << 30), "16 GiB");
        assert_eq!(size_text(500_000_000_000), "500 GB");
        assert_eq!(size_text(1_234), "1234 B");
        Ok(())
    }

    #[test]
    fn flags_prices_and_numbers() -> Result<(), Error> {
        assert_eq!(net_flags("public-ip,incoming")?, NetFlags::PUBLIC_IP | NetFlags::INCOMING);
        assert_eq!(net_flags("PUBLIC_IP, ipv6")?, NetFlags::PUBLIC_IP | NetFlags::IPV6);
        assert_eq!(net_flags("none")?, NetFlags::empty());
        let custom = net_flags("outbound,0x100")?;
        assert_eq!(net_flags_text(custom), "outbound,0x100");
        assert_eq!(net_flags(&net_flags_text(custom))?, custom);
        assert_eq!(net_flags_text(NetFlags::PUBLIC_IP | NetFlags::INCOMING), "public-ip,incoming");
        assert_eq!(net_flags_text(NetFlags::empty()), "none");
        assert!(net_flags("0xzz").is_err() && net_flags("public-ip,").is_err());
        assert!(net_flags("public").is_err());

        assert_eq!(price("0.9 USD/h")?, "0.00025 USD/s".parse()?);
        assert_eq!(price("0.00025 USD/s")?, "0.00025 USD/s".parse()?);
        assert_eq!(price("$1/h")?, UsdPerHour::from_whole(1).to_per_second_down());
        assert!(price("1 USD").is_err());

        assert_eq!(
            (cores_text(4_000), cores_text(1_500), cores_text(250)),
            ("4".into(), "1.5".into(), "0.25".into())
        );
        assert_eq!(tb_text(Bytes::new(123_456_789)), "0.000123456789 TB");
        assert_eq!(tb_text(Bytes::from_tb(3)), "3 TB");
        assert_eq!(
            (thousands(0), thousands(999), thousands(1_234_567)),
            ("0".into(), "999".into(), "1,234,567".into())
        );
        Ok(())
    }
}
