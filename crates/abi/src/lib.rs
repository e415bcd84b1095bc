//! Linux x86-64 ABI data: syscall numbers, errno values, flags and structures.
//! No logic lives here.

pub mod errno;
pub mod signal;
pub mod sysno;
pub use errno::Errno;
