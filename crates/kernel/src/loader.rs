//! ELF loading and the initial stack, laid out exactly as Linux's binfmt_elf does.

use crate::memfile::PAGE;
use crate::mm::{page_down, page_up, Vma, VmaName, MM, MMAP_BASE, STACK_SIZE, STACK_TOP};
use crate::task::Task;
use crate::vfs::File;
use abi::Errno;
use platform::{PROT_EXEC, PROT_READ, PROT_WRITE};

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_GNU_STACK: u32 = 0x6474_e551;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// Where Linux puts a PIE main program that has an interpreter (ELF_ET_DYN_BASE).
const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Linux's limits on exec arguments.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
pub const ARG_MAX: usize = (8 << 20) / 4;

#[derive(Clone, Copy, Default, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

pub struct Elf {
    pub etype: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
    pub phdrs: Vec<Phdr>,
}

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Parses and validates an ELF header and its program headers (ENOEXEC when malformed).
pub fn parse(t: &Task, f: &File, head: &[u8]) -> Result<Elf, Errno> {
    if head.len() < 64 || &head[0..4] != b"\x7fELF" {
        return Err(Errno::ENOEXEC);
    }
    // 64-bit, little endian, current version, x86-64.
    if head[4] != 2 || head[5] != 1 || head[6] != 1 || u16le(head, 18) != 62 {
        return Err(Errno::ENOEXEC);
    }
    let etype = u16le(head, 16);
    if etype != ET_EXEC && etype != ET_DYN {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64le(head, 24);
    let phoff = u64le(head, 32);
    let phentsize = u16le(head, 54);
    let phnum = u16le(head, 56);
    if phentsize as usize != 56 || phnum == 0 || phnum as usize > 65536 / 56 {
        return Err(Errno::ENOEXEC);
    }
    let size = phnum as usize * 56;
    let mut buf = vec![0u8; size];
    let n = f.read_at(t, phoff, &mut buf)?;
    if n != size {
        return Err(Errno::EIO);
    }
    let mut phdrs = Vec::with_capacity(phnum as usize);
    for i in 0..phnum as usize {
        let b = &buf[i * 56..(i + 1) * 56];
        phdrs.push(Phdr {
            p_type: u32le(b, 0),
            flags: u32le(b, 4),
            offset: u64le(b, 8),
            vaddr: u64le(b, 16),
            filesz: u64le(b, 32),
            memsz: u64le(b, 40),
            align: u64le(b, 48),
        });
    }
    for p in &phdrs {
        if p.p_type == PT_LOAD {
            if p.filesz > p.memsz || p.offset % PAGE != p.vaddr % PAGE {
                return Err(Errno::ENOEXEC);
            }
            if p.vaddr.checked_add(p.memsz).is_none() || p.offset.checked_add(p.filesz).is_none() {
                return Err(Errno::ENOEXEC);
            }
        }
    }
    if !phdrs.iter().any(|p| p.p_type == PT_LOAD) {
        return Err(Errno::ENOEXEC);
    }
    Ok(Elf {
        etype,
        entry,
        phoff,
        phentsize,
        phnum,
        phdrs,
    })
}

/// The interpreter path named by PT_INTERP, if any.
pub fn interp_path(t: &Task, f: &File, elf: &Elf) -> Result<Option<Vec<u8>>, Errno> {
    for p in &elf.phdrs {
        if p.p_type == PT_INTERP {
            if p.filesz < 2 || p.filesz > 4096 {
                return Err(Errno::ENOEXEC);
            }
            let mut b = vec![0u8; p.filesz as usize];
            if f.read_at(t, p.offset, &mut b)? != b.len() {
                return Err(Errno::EIO);
            }
            if b.last() != Some(&0) {
                return Err(Errno::ENOEXEC);
            }
            b.pop();
            return Ok(Some(b));
        }
    }
    Ok(None)
}

fn prot_of(flags: u32) -> u32 {
    let mut p = 0;
    if flags & 4 != 0 {
        p |= PROT_READ;
    }
    if flags & 2 != 0 {
        p |= PROT_WRITE;
    }
    if flags & 1 != 0 {
        p |= PROT_EXEC;
    }
    p
}

/// Where an image was put.
pub struct Loaded {
    pub bias: u64,
    pub entry: u64,
    pub phdr: u64,
    /// End of the highest segment (the program break starts here).
    pub end: u64,
}

/// Maps the PT_LOAD segments of `elf` into `mm`. `main`: the main program (vs. interpreter).
pub fn map_image(
    _t: &Task,
    mm: &MM,
    f: &File,
    elf: &Elf,
    main_with_interp: bool,
) -> Result<Loaded, Errno> {
    let loads: Vec<&Phdr> = elf.phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    let lo = page_down(loads.iter().map(|p| p.vaddr).min().unwrap());
    let hi =
        page_up(loads.iter().map(|p| p.vaddr + p.memsz).max().unwrap()).ok_or(Errno::ENOEXEC)?;
    let span = hi - lo;
    let bias = if elf.etype == ET_DYN {
        if main_with_interp {
            ET_DYN_BASE - lo
        } else {
            let m = mm.lock();
            m.find_free(span, MMAP_BASE).ok_or(Errno::ENOMEM)? - lo
        }
    } else {
        0
    };
    if lo.checked_add(bias).is_none()
        || hi
            .checked_add(bias)
            .map_or(true, |e| e > crate::mm::STACK_TOP)
    {
        return Err(Errno::ENOEXEC);
    }
    let (obj, name) = f.mmap_object()?;
    let mut end = 0;
    for p in &loads {
        let prot = prot_of(p.flags);
        let start = page_down(p.vaddr + bias);
        let file_end = p.vaddr + bias + p.filesz;
        let mem_end = page_up(p.vaddr + bias + p.memsz).ok_or(Errno::ENOEXEC)?;
        let file_map_end = page_up(file_end).ok_or(Errno::ENOEXEC)?;
        let mut m = mm.lock();
        if p.filesz > 0 {
            m.unmap_range(start, file_map_end);
            m.insert_vma(Vma {
                start,
                end: file_map_end,
                prot,
                may_write: true,
                shared: false,
                growsdown: false,
                locked: false,
                dontfork: false,
                backing: Some(obj.clone()),
                pgoff: page_down(p.offset) / PAGE,
                name: name.clone(),
            });
        }
        let anon_start = if p.filesz > 0 { file_map_end } else { start };
        if mem_end > anon_start {
            m.unmap_range(anon_start, mem_end);
            m.insert_vma(Vma::anon(anon_start, mem_end, prot, VmaName::None));
        }
        drop(m);
        // Zero the bss part of the last file page (a private copy is made on write).
        if p.memsz > p.filesz && file_end % PAGE != 0 && p.filesz > 0 {
            let z = vec![0u8; (PAGE - file_end % PAGE) as usize];
            if prot & PROT_WRITE != 0 {
                mm.write(file_end, &z)?;
            } else {
                // Temporarily writable for the kernel's copy.
                let mut m = mm.lock();
                let saved = m.find_vma(file_end).map(|v| v.prot).unwrap_or(prot);
                let s = page_down(file_end);
                let _ = m.protect(s, s + PAGE, saved | PROT_WRITE);
                drop(m);
                mm.write(file_end, &z)?;
                let _ = mm.lock().protect(s, s + PAGE, saved);
            }
        }
        end = end.max(p.vaddr + bias + p.memsz);
    }
    // The program headers' address: from PT_PHDR, else inside the first segment with them.
    let phdr = elf
        .phdrs
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map(|p| p.vaddr + bias)
        .or_else(|| {
            loads
                .iter()
                .find(|p| p.offset <= elf.phoff && elf.phoff < p.offset + p.filesz)
                .map(|p| p.vaddr + (elf.phoff - p.offset) + bias)
        })
        .unwrap_or(0);
    Ok(Loaded {
        bias,
        entry: elf.entry + bias,
        phdr,
        end,
    })
}

pub fn wants_exec_stack(elf: &Elf) -> bool {
    elf.phdrs
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .map_or(false, |p| p.flags & 1 != 0)
}

pub struct StackInfo {
    pub sp: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub auxv: Vec<u8>,
}

/// Auxiliary vector values supplied by the exec.
pub struct AuxInfo {
    pub phdr: u64,
    pub phnum: u64,
    pub entry: u64,
    pub base: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub secure: bool,
}

fn host_auxval(k: u64) -> u64 {
    // SAFETY: plain libc call.
    unsafe { libc::getauxval(k) }
}

/// Creates the stack VMA and writes argv, envp, auxv onto it.
pub fn setup_stack(
    mm: &MM,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    aux: &AuxInfo,
    exec_stack: bool,
) -> Result<StackInfo, Errno> {
    let prot = PROT_READ | PROT_WRITE | if exec_stack { PROT_EXEC } else { 0 };
    {
        let mut m = mm.lock();
        let mut v = Vma::anon(STACK_TOP - STACK_SIZE, STACK_TOP, prot, VmaName::Stack);
        v.growsdown = true;
        m.insert_vma(v);
        m.stack_start = STACK_TOP;
    }
    let mut sp = STACK_TOP;
    let push_bytes = |sp: &mut u64, b: &[u8]| -> Result<u64, Errno> {
        *sp -= b.len() as u64;
        mm.write(*sp, b)?;
        Ok(*sp)
    };
    // Linux: 8 bytes of zero at the very top, then the file name, then env and arg strings.
    sp -= 8;
    let mut fname = execfn.to_vec();
    fname.push(0);
    let execfn_addr = push_bytes(&mut sp, &fname)?;
    let mut env_ptrs = Vec::with_capacity(envp.len());
    let env_end = sp;
    for e in envp.iter().rev() {
        let mut s = e.clone();
        s.push(0);
        env_ptrs.push(push_bytes(&mut sp, &s)?);
    }
    env_ptrs.reverse();
    let env_start = sp;
    let arg_end = sp;
    let mut arg_ptrs = Vec::with_capacity(argv.len());
    for a in argv.iter().rev() {
        let mut s = a.clone();
        s.push(0);
        arg_ptrs.push(push_bytes(&mut sp, &s)?);
    }
    arg_ptrs.reverse();
    let arg_start = sp;
    let platform = push_bytes(&mut sp, b"x86_64\0")?;
    let mut rnd = [0u8; 16];
    // SAFETY: filling a local buffer.
    unsafe { libc::getrandom(rnd.as_mut_ptr() as *mut _, 16, 0) };
    sp &= !15;
    let random = push_bytes(&mut sp, &rnd)?;
    let mut auxv: Vec<(u64, u64)> = vec![
        (51, crate::run::min_sigstack_size()), // AT_MINSIGSTKSZ
        (16, host_auxval(16)),                 // AT_HWCAP
        (6, PAGE),                             // AT_PAGESZ
        (17, 100),                             // AT_CLKTCK
        (3, aux.phdr),                         // AT_PHDR
        (4, 56),                               // AT_PHENT
        (5, aux.phnum),                        // AT_PHNUM
        (7, aux.base),                         // AT_BASE
        (8, 0),                                // AT_FLAGS
        (9, aux.entry),                        // AT_ENTRY
        (11, aux.uid as u64),                  // AT_UID
        (12, aux.euid as u64),                 // AT_EUID
        (13, aux.gid as u64),                  // AT_GID
        (14, aux.egid as u64),                 // AT_EGID
        (23, aux.secure as u64),               // AT_SECURE
        (25, random),                          // AT_RANDOM
        (26, host_auxval(26)),                 // AT_HWCAP2
        (31, execfn_addr),                     // AT_EXECFN
        (15, platform),                        // AT_PLATFORM
        (0, 0),                                // AT_NULL
    ];
    if auxv[16].1 == 0 {
        auxv.remove(16);
    }
    // argc, argv[], NULL, envp[], NULL, auxv pairs: total words must leave sp 16-aligned.
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + auxv.len() * 2;
    sp -= (words * 8) as u64;
    sp &= !15;
    let mut block: Vec<u8> = Vec::with_capacity(words * 8);
    block.extend_from_slice(&(argv.len() as u64).to_le_bytes());
    for p in &arg_ptrs {
        block.extend_from_slice(&p.to_le_bytes());
    }
    block.extend_from_slice(&0u64.to_le_bytes());
    for p in &env_ptrs {
        block.extend_from_slice(&p.to_le_bytes());
    }
    block.extend_from_slice(&0u64.to_le_bytes());
    let mut auxbytes = Vec::new();
    for (k, v) in &auxv {
        auxbytes.extend_from_slice(&k.to_le_bytes());
        auxbytes.extend_from_slice(&v.to_le_bytes());
    }
    block.extend_from_slice(&auxbytes);
    mm.write(sp, &block)?;
    Ok(StackInfo {
        sp,
        arg_start,
        arg_end,
        env_start,
        env_end,
        auxv: auxbytes,
    })
}
