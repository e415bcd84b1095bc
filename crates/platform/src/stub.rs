//! The stub: position-independent code copied to `STUB_BASE` in every stub process.
//!
//! Entry points (offsets from the start of the blob):
//! - `init`: run once by the freshly forked master: unmaps everything below and above the
//!   stub page, then falls into `pause_loop`.
//! - `pause_loop`: where idle stub threads wait to be seized (`pause()` forever).
//! - `syscall`: `syscall; int3` — the gadget for injecting a host call; the int3 hands
//!   control back to the tracer with the result in rax.
//! - `clone`: like `syscall`, but the child (rax == 0) goes to `pause_loop`.

use crate::{STUB_BASE, TASK_SIZE};
use std::arch::global_asm;

global_asm!(
    ".pushsection .text.moat_stub,\"ax\",@progbits",
    ".balign 4096",
    ".globl moat_stub_begin",
    "moat_stub_begin:",
    // munmap(0, STUB_BASE)
    "mov eax, 11",
    "xor edi, edi",
    "movabs rsi, {base}",
    "syscall",
    // munmap(STUB_BASE + 4096, TASK_SIZE - STUB_BASE - 4096)
    "mov eax, 11",
    "movabs rdi, {above}",
    "movabs rsi, {above_len}",
    "syscall",
    ".globl moat_stub_pause",
    "moat_stub_pause:",
    "mov eax, 34",
    "syscall",
    "jmp moat_stub_pause",
    ".globl moat_stub_syscall",
    "moat_stub_syscall:",
    "syscall",
    "int3",
    ".globl moat_stub_clone",
    "moat_stub_clone:",
    "syscall",
    "test rax, rax",
    "jz moat_stub_pause",
    "int3",
    ".globl moat_stub_end",
    "moat_stub_end:",
    ".popsection",
    base = const STUB_BASE,
    above = const STUB_BASE + 4096,
    above_len = const TASK_SIZE - STUB_BASE - 4096,
);

extern "C" {
    static moat_stub_begin: u8;
    static moat_stub_pause: u8;
    static moat_stub_syscall: u8;
    static moat_stub_clone: u8;
    static moat_stub_end: u8;
}

fn offset(sym: *const u8) -> u64 {
    // SAFETY: only addresses are taken, never read.
    unsafe { sym as u64 - &moat_stub_begin as *const u8 as u64 }
}

/// The stub code as bytes.
pub fn code() -> &'static [u8] {
    // SAFETY: begin..end is one contiguous range of our own text section.
    unsafe {
        let b = &moat_stub_begin as *const u8;
        let len = &moat_stub_end as *const u8 as usize - b as usize;
        std::slice::from_raw_parts(b, len)
    }
}

/// Address of the init entry in a stub process.
pub fn init_addr() -> u64 {
    STUB_BASE
}
/// Address of the idle loop.
pub fn pause_addr() -> u64 {
    STUB_BASE + offset(unsafe { &moat_stub_pause })
}
/// Address of the `syscall; int3` gadget.
pub fn syscall_addr() -> u64 {
    STUB_BASE + offset(unsafe { &moat_stub_syscall })
}
/// Address of the clone gadget.
pub fn clone_addr() -> u64 {
    STUB_BASE + offset(unsafe { &moat_stub_clone })
}
