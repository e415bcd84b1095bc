//! File attributes and their user-visible encodings (struct stat, struct statx).

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// What stat reports about an inode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Birth time, if the file system knows it.
    pub btime: Option<Timespec>,
}

/// Linux's dev_t encoding of (major, minor).
pub fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
}

pub fn major(dev: u64) -> u64 {
    ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)
}

pub fn minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev >> 12) & !0xff)
}

fn put(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(v);
}

impl Stat {
    /// x86-64 `struct stat` (144 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(144);
        put(&mut o, &self.dev.to_le_bytes());
        put(&mut o, &self.ino.to_le_bytes());
        put(&mut o, &self.nlink.to_le_bytes());
        put(&mut o, &self.mode.to_le_bytes());
        put(&mut o, &self.uid.to_le_bytes());
        put(&mut o, &self.gid.to_le_bytes());
        put(&mut o, &0u32.to_le_bytes());
        put(&mut o, &self.rdev.to_le_bytes());
        put(&mut o, &(self.size as i64).to_le_bytes());
        put(&mut o, &(self.blksize as i64).to_le_bytes());
        put(&mut o, &(self.blocks as i64).to_le_bytes());
        for t in [self.atime, self.mtime, self.ctime] {
            put(&mut o, &t.sec.to_le_bytes());
            put(&mut o, &t.nsec.to_le_bytes());
        }
        o.resize(144, 0);
        o
    }

    /// `struct statx` (256 bytes) with the fields this kernel fills.
    pub fn to_statx(&self, mask: u32) -> Vec<u8> {
        // STATX_BASIC_STATS (0x7ff) plus STATX_BTIME (0x800) when known; MNT_ID (0x1000).
        let mut have: u32 = 0x7ff;
        if self.btime.is_some() {
            have |= 0x800;
        }
        let _ = mask;
        let mut o = Vec::with_capacity(256);
        put(&mut o, &have.to_le_bytes()); // stx_mask
        put(&mut o, &(self.blksize as u32).to_le_bytes());
        put(&mut o, &0u64.to_le_bytes()); // stx_attributes
        put(&mut o, &(self.nlink as u32).to_le_bytes());
        put(&mut o, &self.uid.to_le_bytes());
        put(&mut o, &self.gid.to_le_bytes());
        put(&mut o, &(self.mode as u16).to_le_bytes());
        put(&mut o, &0u16.to_le_bytes());
        put(&mut o, &self.ino.to_le_bytes());
        put(&mut o, &self.size.to_le_bytes());
        put(&mut o, &self.blocks.to_le_bytes());
        put(&mut o, &0u64.to_le_bytes()); // stx_attributes_mask
        let bt = self.btime.unwrap_or_default();
        for t in [self.atime, bt, self.ctime, self.mtime] {
            put(&mut o, &t.sec.to_le_bytes());
            put(&mut o, &(t.nsec as u32).to_le_bytes());
            put(&mut o, &0i32.to_le_bytes());
        }
        put(&mut o, &(major(self.rdev) as u32).to_le_bytes());
        put(&mut o, &(minor(self.rdev) as u32).to_le_bytes());
        put(&mut o, &(major(self.dev) as u32).to_le_bytes());
        put(&mut o, &(minor(self.dev) as u32).to_le_bytes());
        o.resize(256, 0);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_roundtrip() {
        let d = makedev(259, 70000);
        assert_eq!(major(d), 259);
        assert_eq!(minor(d), 70000);
        assert_eq!(makedev(1, 3), 0x103);
    }

    #[test]
    fn layout_sizes() {
        let s = Stat::default();
        assert_eq!(s.to_bytes().len(), 144);
        assert_eq!(s.to_statx(0).len(), 256);
    }
}
