//! Platforms run application code and report back why it stopped.
//!
//! Only the ptrace platform exists so far. Its pieces:
//! - `stub`: the few instructions that live at a fixed range at the top of every
//!   application address space (the only host mapping a stub has besides the
//!   application's memory-file mappings);
//! - `ptrace::factory`: a pristine "master" stub that new address spaces are forked from;
//! - `ptrace::context`: one traced stub thread per application thread.

pub mod caps;
pub mod ptrace;
pub mod seccomp;
pub mod stub;

pub use ptrace::{Context, Event, FaultInfo, Interrupter, StubFactory};

/// General-purpose registers as ptrace exchanges them.
pub type Registers = libc::user_regs_struct;

/// Lowest address of the stub's fixed range; the application can map nothing at or above it.
pub const STUB_BASE: u64 = 0x7fff_fff0_0000;
/// One past the highest user address on x86-64 with 4-level paging (Linux's TASK_SIZE).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// The file descriptor number of the memory file inside every stub process.
pub const STUB_MEMFD: i32 = 3;

/// Memory protections (PROT_* bits).
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;

/// A host errno from a failed platform operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError(pub i32);

impl HostError {
    pub fn last() -> HostError {
        HostError(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

pub type Result<T> = std::result::Result<T, HostError>;
