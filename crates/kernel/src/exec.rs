//! execve: replaces the calling process's image.

use crate::kernel;
use crate::loader::{self, AuxInfo, ARG_MAX, MAX_ARG_STRLEN};
use crate::mm::MM;
use crate::task::Task;
use crate::vfs;
use abi::Errno;
use platform::{Context, Registers};
use std::sync::Arc;

/// Reads a NULL-terminated array of string pointers (argv/envp), enforcing Linux's limits.
pub fn read_strv(t: &Task, addr: u64, total: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut v = Vec::new();
    if addr == 0 {
        return Ok(v);
    }
    for i in 0.. {
        if i > 0x7fff_ffff / 8 {
            return Err(Errno::E2BIG);
        }
        let slot = addr.checked_add(8 * i as u64).ok_or(Errno::EFAULT)?;
        let p: u64 = t.read_val(slot)?;
        if p == 0 {
            break;
        }
        let s = match t.read_cstr(p, MAX_ARG_STRLEN - 1) {
            Err(Errno::ENAMETOOLONG) => return Err(Errno::E2BIG),
            r => r?,
        };
        *total += s.len() + 1 + 8;
        if *total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        v.push(s);
    }
    Ok(v)
}

/// What a shebang line says: interpreter and optional single argument.
fn parse_shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    if !head.starts_with(b"#!") {
        return None;
    }
    let line_end = head.iter().position(|&c| c == b'\n').unwrap_or(head.len());
    let line = &head[2..line_end];
    let trimmed: &[u8] = {
        let s = line
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(line.len());
        let e = line
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t' && c != b'\r')
            .map_or(s, |e| e + 1);
        if s >= e {
            &[]
        } else {
            &line[s..e]
        }
    };
    if trimmed.is_empty() {
        return Some((Vec::new(), None));
    }
    match trimmed.iter().position(|&c| c == b' ' || c == b'\t') {
        None => Some((trimmed.to_vec(), None)),
        Some(i) => {
            let rest = &trimmed[i..];
            let s = rest
                .iter()
                .position(|&c| c != b' ' && c != b'\t')
                .unwrap_or(rest.len());
            let arg = &rest[s..];
            Some((
                trimmed[..i].to_vec(),
                if arg.is_empty() {
                    None
                } else {
                    Some(arg.to_vec())
                },
            ))
        }
    }
}

/// Performs execve of `path` with `argv`/`envp` for task `t` whose stub is `ctx`.
/// On success, `ctx` is a fresh stub running the new image's entry point.
pub fn execve(
    t: &Arc<Task>,
    ctx: &mut Context,
    path: &[u8],
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<(), Errno> {
    // comm is the basename of the path execve was given (not a resolved link or interpreter).
    let comm_name: Vec<u8> = path
        .rsplit(|&c| c == b'/')
        .next()
        .unwrap_or(b"")
        .iter()
        .take(15)
        .copied()
        .collect();
    let mut path = path.to_vec();
    let mut depth = 0;
    let (file, abs, head) = loop {
        let (file, abs) = vfs::open_exec(t, &path)?;
        let mut head = vec![0u8; 256];
        let n = file.read_at(t, 0, &mut head)?;
        head.truncate(n);
        if let Some((interp, arg)) = parse_shebang(&head) {
            depth += 1;
            if depth > 4 {
                return Err(Errno::ELOOP);
            }
            if interp.is_empty() {
                return Err(Errno::ENOEXEC);
            }
            // argv[0] is replaced by: interp [arg] path
            let mut nargv = vec![interp.clone()];
            if let Some(a) = arg {
                nargv.push(a);
            }
            nargv.push(path.clone());
            nargv.extend(argv.into_iter().skip(1));
            argv = nargv;
            path = interp;
            continue;
        }
        break (file, abs, head);
    };
    let elf = loader::parse(t, &file, &head)?;
    let interp = match loader::interp_path(t, &file, &elf)? {
        Some(p) => {
            let (f, _) = vfs::open_exec(t, &p).map_err(|e| {
                if e == Errno::EACCES {
                    Errno::EACCES
                } else {
                    e
                }
            })?;
            let mut h = vec![0u8; 256];
            let n = f.read_at(t, 0, &mut h)?;
            h.truncate(n);
            let ielf = loader::parse(t, &f, &h).map_err(|_| Errno::ELIBBAD)?;
            Some((f, ielf))
        }
        None => None,
    };
    // Build the new address space before the point of no return.
    let stub = kernel().factory.new_stub().map_err(|_| Errno::ENOMEM)?;
    let mm = Arc::new(MM::new(stub));
    let main = loader::map_image(t, &mm, &file, &elf, interp.is_some())?;
    let (entry, base) = match &interp {
        Some((f, ielf)) => {
            let l = loader::map_image(t, &mm, f, ielf, false)?;
            (l.entry, l.bias)
        }
        None => (main.entry, 0),
    };
    let creds = t.creds();
    let aux = AuxInfo {
        phdr: main.phdr,
        phnum: elf.phnum as u64,
        entry: main.entry,
        base,
        uid: creds.uid,
        euid: creds.euid,
        gid: creds.gid,
        egid: creds.egid,
        secure: false,
    };
    let execfn = path.clone();
    let st = loader::setup_stack(
        &mm,
        &argv,
        &envp,
        &execfn,
        &aux,
        loader::wants_exec_stack(&elf),
    )?;
    {
        let mut m = mm.lock();
        let brk = crate::mm::page_up(main.end).unwrap_or(main.end);
        m.brk_start = brk;
        m.brk = brk;
        m.arg_start = st.arg_start;
        m.arg_end = st.arg_end;
        m.env_start = st.env_start;
        m.env_end = st.env_end;
        m.auxv = st.auxv.clone();
        m.exe = Some(abs.clone());
    }
    // Point of no return: other threads die, the old stub goes, the new one is attached.
    crate::run::kill_other_threads(t);
    let new_ctx = Context::attach(stub, stub).map_err(|_| Errno::ENOMEM)?;
    let old_mm = std::mem::replace(&mut *t.mm.lock().unwrap(), mm);
    let mut old_ctx = std::mem::replace(ctx, new_ctx);
    if Arc::strong_count(&old_mm) > 1 {
        // Shared with a vfork parent: only our stub thread goes.
        old_ctx.exit_thread();
    } else {
        old_ctx.kill_process();
        drop(old_ctx);
    }
    crate::ipc::on_exec(t, &old_mm);
    drop(old_mm);
    *t.interrupter.lock().unwrap() = Some(ctx.interrupter());
    t.stub_tid
        .store(ctx.tid(), std::sync::atomic::Ordering::Relaxed);
    // Fresh registers: only the segment selectors of the stub survive.
    let template = ctx.regs;
    // SAFETY: Registers is plain data.
    let mut r: Registers = unsafe { std::mem::zeroed() };
    r.cs = template.cs;
    r.ss = template.ss;
    r.ds = template.ds;
    r.es = template.es;
    r.rip = entry;
    r.rsp = st.sp;
    r.eflags = 0x202;
    r.orig_rax = u64::MAX;
    ctx.regs = r;
    // Files with close-on-exec go; handled signals reset; the fd table is unshared.
    let files = t.files();
    let newfiles = Arc::new(files.fork_copy());
    newfiles.close_on_exec();
    *t.files.lock().unwrap() = newfiles;
    crate::timers::on_exec(&t.tg);
    let sh = t.sighand().copy();
    sh.reset_for_exec();
    *t.sighand.lock().unwrap() = sh;
    {
        let mut s = t.sig.lock().unwrap();
        s.altstack = abi::signal::StackT {
            sp: 0,
            flags: abi::signal::SS_DISABLE,
            _pad: 0,
            size: 0,
        };
    }
    *t.comm.lock().unwrap() = comm_name;
    t.tg.lock().did_exec = true;
    crate::syscalls::identity::on_exec(&t.tg);
    t.clear_child_tid
        .store(0, std::sync::atomic::Ordering::Relaxed);
    crate::run::vfork_release(t);
    crate::debug!("exec {} pid {}", abs, t.tid);
    Ok(())
}
