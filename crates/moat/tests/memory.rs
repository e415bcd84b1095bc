//! Memory management, differential: tests/c/mem.c natively and under moat.
#[macro_use]
mod common;
use common::Variant;

c_cases!("mem", Variant::Static;
    anon_private, anon_shared, file_private, file_shared, munmap, mprotect, mremap, brk, madvise,
    mincore, fork_cow, proc_maps, mmap_errors);

/// The same program as a static PIE and dynamically linked: the loader's
/// placement must not change memory behaviour.
mod pie {
    c_cases!("mem", crate::common::Variant::StaticPie; fork_cow, proc_maps, brk, mremap);
}
mod dynamic {
    c_cases!("mem", crate::common::Variant::Dynamic; fork_cow, proc_maps, brk, file_shared);
}
