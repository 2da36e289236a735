//! What kind of address an IP is: the special-purpose ranges of RFC 6890 and its successors, in
//! one place for every program that judges addresses. The proxy refuses to tunnel to them (a
//! customer would reach the supplier's own network), the reward engine refuses worker IPs no worker
//! can have and counts private ones only when a campaign allows them, the agent refuses to offer a
//! machine at one no customer can reach.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// Why an address is not a public internet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AddressClass {
    /// `0.0.0.0/8`, `::`: "this host".
    Unspecified,
    /// `127.0.0.0/8`, `::1`: the supplier's machine itself.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fc00::/7` (and the deprecated site-local
    /// `fec0::/10`): the supplier's LAN.
    Private,
    /// `100.64.0.0/10`: a carrier's NAT (shared address space).
    SharedAddressSpace,
    /// `169.254.0.0/16` (cloud metadata at 169.254.169.254), `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Documentation, benchmarking, protocol-assignment, discard and future-use ranges, and IPv6
    /// forms of IPv4 addresses this list refuses (IPv4-compatible, NAT64 local use).
    Reserved,
}

impl AddressClass {
    /// Whether no host has such an address: unspecified, broadcast, multicast.
    pub fn is_never_a_host(self) -> bool {
        matches!(self, Self::Unspecified | Self::Broadcast | Self::Multicast)
    }

    /// Whether it names a host of the machine's own networks: loopback, private, link-local, or
    /// behind a carrier's NAT.
    pub fn is_private(self) -> bool {
        matches!(self, Self::Loopback | Self::Private | Self::LinkLocal | Self::SharedAddressSpace)
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedAddressSpace => "shared address space (carrier NAT)",
            Self::LinkLocal => "link-local",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        })
    }
}

/// An IPv4 address carried in an IPv6 one (`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
/// `2002:aabb:ccdd::`) as that IPv4 address: it reaches the same host.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = v6.to_bits();
    let low = Ipv4Addr::from_bits(bits as u32);
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        Some(low)
    } else if bits >> 112 == 0x2002 {
        Some(Ipv4Addr::from_bits((bits >> 80) as u32))
    } else {
        None
    }
}

/// The class of `ip` if it is not a public internet address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::SharedAddressSpace,
        (169, 254, _) => AddressClass::LinkLocal,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _)
        | (192, 0, 0 | 2)
        | (192, 88, 99)
        | (198, 18..=19, _)
        | (198, 51, 100)
        | (203, 0, 113) => AddressClass::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let bits = ip.to_bits();
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_unspecified() => AddressClass::Unspecified,
        _ if ip.is_loopback() => AddressClass::Loopback,
        _ if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => AddressClass::Private,
        _ if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        _ if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        // IPv4-compatible (::a.b.c.d), NAT64 local use (64:ff9b:1::/48), discard (100::/64),
        // IETF assignments (2001::/23), documentation (2001:db8::/32, 3fff::/20).
        _ if bits >> 32 == 0
            || bits >> 80 == 0x0064_ff9b_0001
            || bits >> 64 == 0x0100_0000_0000_0000
            || bits >> 105 == 0x2001_0000 >> 9
            || bits >> 96 == 0x2001_0db8
            || bits >> 108 == 0x3fff0 =>
        {
            AddressClass::Reserved
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Option<AddressClass> {
        classify(text.parse().expect("an IP"))
    }

    #[test]
    fn addresses_are_classed_by_their_special_purpose_range() {
        use AddressClass::*;
        for (address, expected) in [
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("2606:4700::1111", None),
            ("0.1.2.3", Some(Unspecified)),
            ("::", Some(Unspecified)),
            ("255.255.255.255", Some(Broadcast)),
            ("239.255.255.255", Some(Multicast)),
            ("ff02::1", Some(Multicast)),
            ("127.255.0.9", Some(Loopback)),
            ("::1", Some(Loopback)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("172.31.255.255", Some(Private)),
            ("fd00::1", Some(Private)),
            ("2002:c0a8:0101::1", Some(Private)),
            ("169.254.169.254", Some(LinkLocal)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("203.0.113.7", Some(Reserved)),
            ("2001:db8::1", Some(Reserved)),
        ] {
            assert_eq!(class(address), expected, "{address}");
        }
    }

    #[test]
    fn hosts_and_private_networks_are_told_apart() {
        use AddressClass::*;
        let never = [Unspecified, Broadcast, Multicast];
        let private = [Loopback, Private, LinkLocal, SharedAddressSpace];
        for class in never {
            assert!(class.is_never_a_host() && !class.is_private(), "{class}");
        }
        for class in private {
            assert!(class.is_private() && !class.is_never_a_host(), "{class}");
        }
        assert!(!Reserved.is_private() && !Reserved.is_never_a_host());
    }

    #[test]
    fn an_ipv4_address_inside_an_ipv6_one_is_that_ipv4_address() {
        let ip = |text: &str| text.parse::<IpAddr>().expect("an IP");
        assert_eq!(canonical(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(canonical(ip("64:ff9b::808:808")), ip("8.8.8.8"));
        assert_eq!(canonical(ip("2002:0808:0808::1")), ip("8.8.8.8"));
        assert_eq!(canonical(ip("2606:4700::1111")), ip("2606:4700::1111"));
    }
}
