//! Linux's x86-64 signal frame (struct rt_sigframe) with the xsave FP state after it.

use crate::signal::Delivery;
use crate::task::Task;
use abi::signal::*;
use abi::Errno;
use platform::{Context, Registers};

const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// sizeof(struct rt_sigframe) on x86-64: pretcode 8 + ucontext 304 + siginfo 128.
pub const FRAME_SIZE: u64 = 440;
const UC_OFF: u64 = 8;
const MCTX_OFF: u64 = UC_OFF + 40;
const MASK_OFF: u64 = MCTX_OFF + 256;
const INFO_OFF: u64 = UC_OFF + 304;

fn sigcontext(
    r: &Registers,
    mask: u64,
    fpstate: u64,
    trapno: u64,
    err: u64,
    cr2: u64,
) -> [u64; 32] {
    let mut s = [0u64; 32];
    let v = [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.eflags,
    ];
    s[..18].copy_from_slice(&v);
    // cs, gs, fs, ss as four u16.
    s[18] = (r.cs & 0xffff)
        | ((r.gs & 0xffff) << 16)
        | ((r.fs & 0xffff) << 32)
        | ((r.ss & 0xffff) << 48);
    s[19] = err;
    s[20] = trapno;
    s[21] = mask;
    s[22] = cr2;
    s[23] = fpstate;
    s
}

/// Builds the frame for `d` on the app's stack (or its alternate stack) and points the
/// registers at the handler. Err: the frame could not be written (the caller kills with SIGSEGV).
pub fn setup(t: &Task, ctx: &mut Context, d: &Delivery, old_mask: u64) -> Result<(), Errno> {
    let regs = ctx.regs;
    let act = d.action;
    let sig = d.info.signo as u32;
    let (alt, on_alt) = {
        let s = t.sig.lock().unwrap();
        let a = s.altstack;
        let on =
            a.flags & SS_DISABLE == 0 && a.size > 0 && regs.rsp > a.sp && regs.rsp <= a.sp + a.size;
        (a, on)
    };
    let mut sp = regs.rsp;
    let use_alt =
        act.flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && alt.size > 0 && !on_alt;
    if use_alt {
        sp = alt.sp + alt.size;
    } else {
        sp = sp.wrapping_sub(128); // red zone
    }
    let mut fp = ctx.get_fpstate().map_err(|_| Errno::EFAULT)?;
    let xsize = fp.len() as u64;
    // sw_reserved in the fxsave area tells libc the frame carries an xsave image.
    if fp.len() >= 512 {
        let xfeatures = if fp.len() >= 520 {
            u64::from_le_bytes(fp[512..520].try_into().unwrap())
        } else {
            3
        };
        fp[464..468].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        fp[468..472].copy_from_slice(&((xsize + 4) as u32).to_le_bytes());
        fp[472..480].copy_from_slice(&(xfeatures | 3).to_le_bytes());
        fp[480..484].copy_from_slice(&(xsize as u32).to_le_bytes());
    }
    fp.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    sp = sp.wrapping_sub(fp.len() as u64) & !63;
    let fpaddr = sp;
    sp = sp.wrapping_sub(FRAME_SIZE);
    sp = (sp & !15).wrapping_sub(8);
    let frame = sp;
    if use_alt && (frame < alt.sp) {
        return Err(Errno::EFAULT);
    }
    t.write_mem(fpaddr, &fp)?;
    let mut buf = vec![0u8; FRAME_SIZE as usize];
    let put = |buf: &mut Vec<u8>, off: u64, v: u64| {
        buf[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes())
    };
    put(&mut buf, 0, act.restorer);
    put(
        &mut buf,
        UC_OFF,
        UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
    );
    put(&mut buf, UC_OFF + 8, 0);
    put(&mut buf, UC_OFF + 16, alt.sp);
    put(
        &mut buf,
        UC_OFF + 24,
        if on_alt {
            SS_ONSTACK as u64
        } else if alt.flags & SS_DISABLE != 0 {
            SS_DISABLE as u64
        } else {
            0
        } | (alt.flags & SS_AUTODISARM) as u64,
    );
    put(&mut buf, UC_OFF + 32, alt.size);
    let (trapno, err, cr2) = match sig {
        SIGSEGV | SIGBUS => (14, 0, d.info.fields[0]),
        _ => (0, 0, 0),
    };
    let sc = sigcontext(&regs, old_mask, fpaddr, trapno, err, cr2);
    for (i, w) in sc.iter().enumerate() {
        put(&mut buf, MCTX_OFF + 8 * i as u64, *w);
    }
    put(&mut buf, MASK_OFF, old_mask);
    buf[INFO_OFF as usize..INFO_OFF as usize + 128].copy_from_slice(d.info.as_bytes());
    t.write_mem(frame, &buf)?;
    if use_alt && alt.flags & SS_AUTODISARM != 0 {
        t.sig.lock().unwrap().altstack = StackT {
            sp: 0,
            flags: SS_DISABLE,
            _pad: 0,
            size: 0,
        };
    }
    let r = &mut ctx.regs;
    r.rsp = frame;
    r.rip = act.handler;
    r.rdi = sig as u64;
    r.rsi = frame + INFO_OFF;
    r.rdx = frame + UC_OFF;
    r.rax = 0;
    r.eflags &= !(0x400 | 0x100); // DF, TF
    r.orig_rax = u64::MAX;
    Ok(())
}

/// rt_sigreturn: restores registers, mask, FP state and altstack from the frame at rsp-8.
pub fn sigreturn(t: &Task, ctx: &mut Context) -> Result<(), Errno> {
    let frame = ctx.regs.rsp.wrapping_sub(8);
    let mut buf = vec![0u8; FRAME_SIZE as usize];
    t.read_mem(frame, &mut buf)?;
    let get =
        |off: u64| u64::from_le_bytes(buf[off as usize..off as usize + 8].try_into().unwrap());
    let mut sc = [0u64; 32];
    for (i, w) in sc.iter_mut().enumerate() {
        *w = get(MCTX_OFF + 8 * i as u64);
    }
    let r = &mut ctx.regs;
    r.r8 = sc[0];
    r.r9 = sc[1];
    r.r10 = sc[2];
    r.r11 = sc[3];
    r.r12 = sc[4];
    r.r13 = sc[5];
    r.r14 = sc[6];
    r.r15 = sc[7];
    r.rdi = sc[8];
    r.rsi = sc[9];
    r.rbp = sc[10];
    r.rbx = sc[11];
    r.rdx = sc[12];
    r.rax = sc[13];
    r.rcx = sc[14];
    r.rsp = sc[15];
    r.rip = sc[16];
    // Only the user-changeable flags (CF PF AF ZF SF TF DF OF, AC, RF cleared).
    const FIX: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x200000;
    r.eflags = (r.eflags & !FIX) | (sc[17] & FIX);
    r.orig_rax = u64::MAX;
    let mask = get(MASK_OFF) & !UNBLOCKABLE;
    t.sig.lock().unwrap().mask = mask;
    let fpaddr = sc[23];
    if fpaddr != 0 {
        let cur = ctx.get_fpstate().map_err(|_| Errno::EFAULT)?;
        let mut fp = vec![0u8; cur.len()];
        t.read_mem(fpaddr, &mut fp)?;
        // Keep the header fields the host needs sane: restore only what the app may change.
        let _ = ctx.set_fpstate(&fp);
    }
    // uc_stack: restore the alternate stack settings.
    let ss_sp = get(UC_OFF + 16);
    let ss_flags = get(UC_OFF + 24) as u32;
    let ss_size = get(UC_OFF + 32);
    {
        let mut s = t.sig.lock().unwrap();
        let cur_on = s.altstack.flags & SS_DISABLE == 0
            && ctx.regs.rsp > s.altstack.sp
            && ctx.regs.rsp <= s.altstack.sp + s.altstack.size;
        if !cur_on {
            let flags = ss_flags & (SS_DISABLE | SS_AUTODISARM);
            if flags & SS_DISABLE != 0 {
                s.altstack = StackT {
                    sp: 0,
                    flags: SS_DISABLE,
                    _pad: 0,
                    size: 0,
                };
            } else if ss_size >= MINSIGSTKSZ {
                s.altstack = StackT {
                    sp: ss_sp,
                    flags,
                    _pad: 0,
                    size: ss_size,
                };
            }
        }
    }
    Ok(())
}
