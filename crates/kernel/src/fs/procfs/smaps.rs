//! /proc/PID/smaps and smaps_rollup: per-mapping memory figures in Linux's layout.
//! Resident pages come from the address space's page table; a page whose frame has
//! another holder (a fork's copy-on-write sharer, a shared mapping's other mappers)
//! counts as shared, the others as private; anonymous private pages are dirty.

use crate::mm::{VmaName, MM};
use std::fmt::Write as _;

/// The figures of one mapping (or the sum of all), in kB.
#[derive(Default, Clone, Copy)]
struct Figures {
    size: u64,
    rss: u64,
    pss: u64,
    shared_clean: u64,
    shared_dirty: u64,
    private_clean: u64,
    private_dirty: u64,
    anonymous: u64,
    locked: u64,
    pss_anon: u64,
    pss_file: u64,
    pss_shmem: u64,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.size += o.size;
        self.rss += o.rss;
        self.pss += o.pss;
        self.shared_clean += o.shared_clean;
        self.shared_dirty += o.shared_dirty;
        self.private_clean += o.private_clean;
        self.private_dirty += o.private_dirty;
        self.anonymous += o.anonymous;
        self.locked += o.locked;
        self.pss_anon += o.pss_anon;
        self.pss_file += o.pss_file;
        self.pss_shmem += o.pss_shmem;
    }
}

fn line(o: &mut String, name: &str, kb: u64) {
    let _ = writeln!(o, "{:<16}{:>8} kB", format!("{name}:"), kb);
}

/// The lines from Shared_Clean to Anonymous.
fn middle(o: &mut String, f: &Figures) {
    line(o, "Shared_Clean", f.shared_clean);
    line(o, "Shared_Dirty", f.shared_dirty);
    line(o, "Private_Clean", f.private_clean);
    line(o, "Private_Dirty", f.private_dirty);
    line(o, "Referenced", f.rss);
    line(o, "Anonymous", f.anonymous);
}

/// The lines from KSM to Locked (what moat never has: huge pages, swap, KSM).
fn tail(o: &mut String, f: &Figures) {
    for n in [
        "KSM",
        "LazyFree",
        "AnonHugePages",
        "ShmemPmdMapped",
        "FilePmdMapped",
        "Shared_Hugetlb",
        "Private_Hugetlb",
        "Swap",
        "SwapPss",
    ] {
        line(o, n, 0);
    }
    line(o, "Locked", f.locked);
}

/// (header line as in maps, figures, VmFlags) per mapping.
fn walk(mm: &MM) -> Vec<(String, Figures, String)> {
    let headers: Vec<String> = mm.maps_text().lines().map(|l| l.to_string()).collect();
    let vmas: Vec<_> = mm.lock().vmas.values().cloned().collect();
    let mut out = Vec::new();
    for (v, h) in vmas.iter().zip(headers) {
        let (res, shared) = mm.page_counts(v.start, v.end);
        let (res, shared) = (res * 4, shared * 4);
        let private = res - shared;
        let anon = v.backing.is_none();
        let shmem = v.shared && !matches!(v.name, VmaName::File { .. });
        let mut f = Figures {
            size: (v.end - v.start) / 1024,
            rss: res,
            // Shared pages are split among holders; two is the common case (fork).
            pss: private + shared / 2,
            locked: if v.locked { res } else { 0 },
            ..Default::default()
        };
        if anon || (!v.shared && v.prot & 2 != 0) {
            f.private_dirty = private;
            f.shared_dirty = shared;
            if anon {
                f.anonymous = res;
                f.pss_anon = f.pss;
            } else {
                f.pss_file = f.pss;
            }
        } else {
            f.private_clean = private;
            f.shared_clean = shared;
            if shmem {
                f.pss_shmem = f.pss;
            } else {
                f.pss_file = f.pss;
            }
        }
        let mut flags = String::new();
        let mut flag = |c: &str| {
            flags.push_str(c);
            flags.push(' ');
        };
        if v.prot & 1 != 0 {
            flag("rd");
        }
        if v.prot & 2 != 0 {
            flag("wr");
        }
        if v.prot & 4 != 0 {
            flag("ex");
        }
        if v.shared {
            flag("sh");
        }
        flag("mr");
        if v.may_write {
            flag("mw");
        }
        flag("me");
        if v.shared {
            flag("ms");
        }
        if v.growsdown {
            flag("gd");
        }
        if v.locked {
            flag("lo");
        }
        if v.dontfork {
            flag("dc");
        }
        if !v.shared && v.prot & 2 != 0 {
            flag("ac");
        }
        flag("sd");
        out.push((h, f, flags));
    }
    out
}

/// /proc/PID/smaps.
pub(super) fn smaps(mm: &MM) -> String {
    let mut o = String::new();
    for (h, f, flags) in walk(mm) {
        o.push_str(&h);
        o.push('\n');
        line(&mut o, "Size", f.size);
        line(&mut o, "KernelPageSize", 4);
        line(&mut o, "MMUPageSize", 4);
        line(&mut o, "Rss", f.rss);
        line(&mut o, "Pss", f.pss);
        line(&mut o, "Pss_Dirty", f.private_dirty + f.shared_dirty / 2);
        middle(&mut o, &f);
        tail(&mut o, &f);
        let _ = writeln!(o, "{:<16}{:>8}", "THPeligible:", 0);
        let _ = writeln!(o, "{:<16}{:>8}", "ProtectionKey:", 0);
        let _ = writeln!(o, "VmFlags: {}", flags);
    }
    o
}

/// /proc/PID/smaps_rollup.
pub(super) fn rollup(mm: &MM) -> String {
    let all = walk(mm);
    let (start, end) = {
        let m = mm.lock();
        let s = m.vmas.values().next().map(|v| v.start).unwrap_or(0);
        let e = m.vmas.values().last().map(|v| v.end).unwrap_or(0);
        (s, e)
    };
    let mut t = Figures::default();
    for (_, f, _) in &all {
        t.add(f);
    }
    let mut o = format!(
        "{:<72} [rollup]\n",
        format!("{:08x}-{:08x} ---p 00000000 00:00 0", start, end)
    );
    line(&mut o, "Rss", t.rss);
    line(&mut o, "Pss", t.pss);
    line(&mut o, "Pss_Dirty", t.private_dirty + t.shared_dirty / 2);
    line(&mut o, "Pss_Anon", t.pss_anon);
    line(&mut o, "Pss_File", t.pss_file);
    line(&mut o, "Pss_Shmem", t.pss_shmem);
    middle(&mut o, &t);
    tail(&mut o, &t);
    o
}
