//! tmpfs mount options (Linux's shmem_parse_one): `size=`, `nr_blocks=`, `nr_inodes=`,
//! `mode=`, `uid=`, `gid=`, and the ones accepted without effect here (`huge=`, `mpol=`,
//! `inode32`, `inode64`, `noswap`). Mount code calls `TmpfsOptions::parse` with the
//! data string of mount(2); `memparse` is Linux's number-with-suffix reader.

use abi::Errno;

/// Parsed tmpfs options; None leaves the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TmpfsOptions {
    /// Size limit in pages (0: unlimited).
    pub max_pages: Option<u64>,
    /// Inode limit (0: unlimited).
    pub max_inodes: Option<u64>,
    /// Permission bits of the root directory.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Linux's memparse: a decimal (or 0x hex, 0 octal) number with an optional binary
/// suffix K, M, G, T, P, E (either case).
pub fn memparse(s: &str) -> Result<u64, Errno> {
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
        Some(b't' | b'T') => (&s[..s.len() - 1], 40),
        Some(b'p' | b'P') => (&s[..s.len() - 1], 50),
        Some(b'e' | b'E') => (&s[..s.len() - 1], 60),
        _ => (s, 0),
    };
    let v = parse_c_number(digits)?;
    v.checked_mul(1u64 << shift).ok_or(Errno::EINVAL)
}

/// strtoull with base 0: "0x" hex, leading "0" octal, else decimal; the whole string.
fn parse_c_number(s: &str) -> Result<u64, Errno> {
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8)
    } else {
        s.parse::<u64>()
    };
    r.map_err(|_| Errno::EINVAL)
}

impl TmpfsOptions {
    /// Parses a comma-separated option string. `total_pages` is the memory size that
    /// `size=N%` is a percentage of. Unknown options are EINVAL, as Linux.
    pub fn parse(data: &str, total_pages: u64) -> Result<TmpfsOptions, Errno> {
        let mut o = TmpfsOptions::default();
        for opt in data.split(',').filter(|x| !x.is_empty()) {
            let (key, val) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            let need = || val.filter(|v| !v.is_empty()).ok_or(Errno::EINVAL);
            match key {
                "size" => {
                    let v = need()?;
                    let pages = if let Some(pct) = v.strip_suffix('%') {
                        let p = parse_c_number(pct)?;
                        total_pages.saturating_mul(p) / 100
                    } else {
                        memparse(v)?.div_ceil(4096)
                    };
                    o.max_pages = Some(pages);
                }
                "nr_blocks" => o.max_pages = Some(memparse(need()?)?),
                "nr_inodes" => o.max_inodes = Some(memparse(need()?)?),
                "mode" => {
                    let m = u32::from_str_radix(need()?, 8).map_err(|_| Errno::EINVAL)?;
                    o.mode = Some(m & 0o7777);
                }
                "uid" | "gid" => {
                    let v: u32 = need()?.parse().map_err(|_| Errno::EINVAL)?;
                    if v == u32::MAX {
                        return Err(Errno::EINVAL);
                    }
                    if key == "uid" {
                        o.uid = Some(v);
                    } else {
                        o.gid = Some(v);
                    }
                }
                "huge" => match need()? {
                    "never" | "always" | "within_size" | "advise" | "deny" | "force" => {}
                    _ => return Err(Errno::EINVAL),
                },
                "mpol" => {
                    need()?;
                }
                "inode32" | "inode64" | "noswap" if val.is_none() => {}
                // Generic options the VFS takes before the file system sees them.
                "ro" | "rw" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec"
                | "relatime" | "norelatime" | "strictatime" | "noatime" | "nodiratime" | "sync"
                | "async" | "silent" | "lazytime" | "nolazytime"
                    if val.is_none() => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memparse_suffixes() {
        assert_eq!(memparse("4096"), Ok(4096));
        assert_eq!(memparse("1k"), Ok(1024));
        assert_eq!(memparse("2M"), Ok(2 << 20));
        assert_eq!(memparse("3g"), Ok(3 << 30));
        assert_eq!(memparse("0x10"), Ok(16));
        assert_eq!(memparse("010"), Ok(8));
        assert_eq!(memparse("x"), Err(Errno::EINVAL));
        assert_eq!(memparse("20E"), Err(Errno::EINVAL));
    }

    #[test]
    fn parse_options() {
        let o =
            TmpfsOptions::parse("size=1m,mode=1777,uid=1000,gid=100,nr_inodes=10k", 1000).unwrap();
        assert_eq!(o.max_pages, Some(256));
        assert_eq!(o.mode, Some(0o1777));
        assert_eq!(o.uid, Some(1000));
        assert_eq!(o.gid, Some(100));
        assert_eq!(o.max_inodes, Some(10240));
        let o = TmpfsOptions::parse("size=50%,nosuid,nodev,huge=never", 1000).unwrap();
        assert_eq!(o.max_pages, Some(500));
        assert_eq!(o.max_pages, Some(500));
        assert_eq!(TmpfsOptions::parse("", 1).unwrap(), TmpfsOptions::default());
        for bad in [
            "bogus",
            "size=",
            "size=abc",
            "mode=9",
            "uid=x",
            "huge=maybe",
            "noswap=1",
        ] {
            assert_eq!(TmpfsOptions::parse(bad, 1000), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(
            TmpfsOptions::parse("size=4097", 1).unwrap().max_pages,
            Some(2)
        );
    }
}
