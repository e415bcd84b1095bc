/* ELF loading, the initial stack and auxv, execve errors, #! scripts.
 * Built static, static-pie and dynamic; each variant is compared with itself
 * natively. */
#include "t.h"
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

extern const ElfW(Ehdr) __ehdr_start;
extern char _start[];
static char **g_envp;
static int g_argc;
static char **g_argv;

static ElfW(auxv_t) *auxv_from_stack(void) {
    char **e = g_envp;
    while (*e) e++;
    return (ElfW(auxv_t) *)(e + 1);
}

static void auxv(void) {
    ElfW(auxv_t) *av = auxv_from_stack();
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
    CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ 4096");
    CHECK(getauxval(AT_PHDR) == (unsigned long)phdr, "AT_PHDR points at the program headers");
    CHECK(getauxval(AT_PHNUM) == __ehdr_start.e_phnum, "AT_PHNUM matches e_phnum");
    CHECK(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT");
    CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is _start");
    say("AT_BASE is %s", getauxval(AT_BASE) ? "set (interpreter)" : "zero");
    if (getauxval(AT_BASE)) {
        const ElfW(Ehdr) *ld = (const ElfW(Ehdr) *)getauxval(AT_BASE);
        CHECK(!memcmp(ld->e_ident, ELFMAG, SELFMAG), "AT_BASE points at the interpreter's ELF header");
    }
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK(rnd != NULL, "AT_RANDOM set");
    int nz = 0;
    for (int i = 0; rnd && i < 16; i++) nz |= rnd[i];
    CHECK(nz, "AT_RANDOM's 16 bytes are not all zero");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn && !strcmp(execfn, g_argv[0]), "AT_EXECFN is the path given to execve");
    say("AT_HWCAP %#lx", getauxval(AT_HWCAP));
    say("AT_HWCAP2 %#lx", getauxval(AT_HWCAP2));
    say("AT_CLKTCK %lu", getauxval(AT_CLKTCK));
    say("AT_SECURE %lu", getauxval(AT_SECURE));
    say("AT_UID %lu AT_EUID %lu AT_GID %lu AT_EGID %lu", getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID),
        getauxval(AT_EGID));
    CHECK(getauxval(AT_UID) == getuid() && getauxval(AT_EGID) == getegid(), "AT_UID/AT_EGID agree with getuid/getegid");
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    say("AT_PLATFORM %s", plat ? plat : "(none)");
    say("AT_MINSIGSTKSZ %s", getauxval(AT_MINSIGSTKSZ) >= 1024 ? ">= 1024" : "missing or small");
    say("AT_FLAGS %lu", getauxval(AT_FLAGS));
    /* The required entries are all present, exactly once, and the vector ends with AT_NULL. */
    static const struct {
        unsigned long t;
        const char *n;
    } want[] = {{AT_PHDR, "AT_PHDR"},       {AT_PHENT, "AT_PHENT"},   {AT_PHNUM, "AT_PHNUM"},
                {AT_PAGESZ, "AT_PAGESZ"},   {AT_BASE, "AT_BASE"},     {AT_FLAGS, "AT_FLAGS"},
                {AT_ENTRY, "AT_ENTRY"},     {AT_UID, "AT_UID"},       {AT_EUID, "AT_EUID"},
                {AT_GID, "AT_GID"},         {AT_EGID, "AT_EGID"},     {AT_PLATFORM, "AT_PLATFORM"},
                {AT_HWCAP, "AT_HWCAP"},     {AT_CLKTCK, "AT_CLKTCK"}, {AT_SECURE, "AT_SECURE"},
                {AT_RANDOM, "AT_RANDOM"},   {AT_HWCAP2, "AT_HWCAP2"}, {AT_EXECFN, "AT_EXECFN"},
                {AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ"}};
    int n = 0;
    while (av[n].a_type != AT_NULL && n < 100) n++;
    CHECK(n < 100, "auxv ends with AT_NULL");
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        int count = 0;
        for (int j = 0; j < n; j++) count += av[j].a_type == want[i].t;
        CHECK(count == 1, "%s present once", want[i].n);
    }
    /* /proc/self/auxv holds the same vector. */
    int fd = open("/proc/self/auxv", O_RDONLY);
    CHECK(fd >= 0, "open /proc/self/auxv");
    if (fd >= 0) {
        static ElfW(auxv_t) pv[128];
        ssize_t r = read(fd, pv, sizeof pv);
        CHECK(r == (ssize_t)((n + 1) * sizeof(ElfW(auxv_t))) && !memcmp(pv, av, r),
              "/proc/self/auxv equals the vector on the stack");
        close(fd);
    }
}

static void stack(void) {
    /* Linux packs the argument and environment strings contiguously, argv
     * first, then envp, then the execve filename, at the top of the stack. */
    int contiguous = 1;
    char *end = NULL;
    for (int i = 0; i < g_argc; i++) {
        if (end && g_argv[i] != end) contiguous = 0;
        end = g_argv[i] + strlen(g_argv[i]) + 1;
    }
    for (char **e = g_envp; *e; e++) {
        if (*e != end) contiguous = 0;
        end = *e + strlen(*e) + 1;
    }
    CHECK(contiguous, "argv and envp strings are contiguous");
    CHECK((char *)getauxval(AT_EXECFN) == end, "AT_EXECFN string follows the last environment string");
    CHECK(g_argv[g_argc] == NULL, "argv is NULL-terminated");
    CHECK(g_envp == g_argv + g_argc + 1, "envp follows argv's NULL");
    CHECK(((uintptr_t)g_argv & 7) == 0, "argv is 8-byte aligned");
    CHECK((uintptr_t)g_argv[0] > (uintptr_t)auxv_from_stack(), "strings lie above the vectors");
    char local;
    CHECK((uintptr_t)&local < (uintptr_t)g_argv, "the stack grows down below argv");
    /* The stack can grow well beyond its first pages. */
    volatile char big[4 << 20];
    for (size_t i = 0; i < sizeof big; i += 4096) big[i] = 1;
    CHECK(big[0] == 1, "4 MiB of stack usable");
}

static void print_args(void) {
    say("argc %d", g_argc);
    for (int i = 1; i < g_argc; i++) say("argv[%d] '%s'", i, g_argv[i]);
    const char *v = getenv("MOAT_T_VAR");
    say("MOAT_T_VAR %s", v ? v : "(unset)");
    say("MOAT_T_EMPTY %s", getenv("MOAT_T_EMPTY") ? "set" : "unset");
}

static void print_env(void) {
    for (char **e = g_envp; *e; e++) say("env '%s'", *e);
}

static void exec_args(void) {
    char *argv[] = {"custom-argv0", "print_args", "two words", "", "\xc3\xbc", NULL};
    char *envp[] = {"MOAT_T_VAR=from-exec", "MOAT_T_EMPTY=", "Z=last", NULL};
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        execve(t_prog, argv, envp);
        _exit(99);
    }
    say("child %s", wait_child(c));
    char *argv2[] = {"x", "print_env", NULL};
    c = MUST(fork());
    if (c == 0) {
        execve(t_prog, argv2, envp);
        _exit(99);
    }
    say("child %s", wait_child(c));
    char *empty[] = {NULL};
    c = MUST(fork());
    if (c == 0) {
        /* argc 0: Linux (since 5.18) supplies an empty argv[0]... but for a
         * static binary run_cases would run all cases; just exec /bin/true. */
        execve("/bin/true", empty, empty);
        _exit(99);
    }
    say("argc 0 exec of /bin/true: %s", wait_child(c));
}

static const char *decode(const char *d) {
    static char b[64];
    int code;
    if (sscanf(d, "exit %d", &code) == 1 && code > 100)
        snprintf(b, sizeof b, "execve failed %s", ename(code - 100));
    else
        snprintf(b, sizeof b, "%s", d);
    return b;
}

static const char *exec_status(const char *path, char **argv, char **envp) {
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        execve(path, argv, envp);
        _exit(100 + errno);
    }
    return decode(wait_child(c));
}

static void e2big(void) {
    char *env[] = {NULL};
    size_t n = 131072;
    char *huge = malloc(n + 1);
    memset(huge, 'a', n);
    huge[n] = 0;
    char *a1[] = {"/bin/true", huge, NULL};
    say("one string of 128 KiB: %s", exec_status("/bin/true", a1, env));
    huge[n - 1] = 0;
    say("one string of 128 KiB - 1: %s", exec_status("/bin/true", a1, env));
    huge[n - 1] = 'a';
    /* Total over a quarter of the stack limit (8 MiB / 4). */
    char **many = calloc(40, sizeof *many);
    many[0] = "/bin/true";
    char *s100k = malloc(100000);
    memset(s100k, 'b', 99999);
    s100k[99999] = 0;
    for (int i = 1; i < 39; i++) many[i] = s100k;
    say("38 strings of 100 KB: %s", exec_status("/bin/true", many, env));
    char *envbig[40];
    char *e100k = malloc(100003);
    memcpy(e100k, "E=", 2);
    memset(e100k + 2, 'e', 100000);
    e100k[100002] = 0;
    for (int i = 0; i < 39; i++) envbig[i] = e100k;
    envbig[39] = NULL;
    char *a2[] = {"/bin/true", NULL};
    say("39 env strings of 100 KB: %s", exec_status("/bin/true", a2, envbig));
    for (int i = 0; i < 39; i++) envbig[i] = i < 5 ? e100k : NULL;
    say("5 env strings of 100 KB: %s", exec_status("/bin/true", a2, envbig));
    /* A million empty arguments: the pointers alone exceed the limit. */
    size_t cnt = 1000000;
    char **lots = calloc(cnt + 1, sizeof *lots);
    lots[0] = "/bin/true";
    for (size_t i = 1; i < cnt; i++) lots[i] = "";
    say("a million arguments: %s", exec_status("/bin/true", lots, env));
    /* Bad pointers. */
    char *badv[] = {"/bin/true", (char *)8, NULL};
    say("bad argv string pointer: %s", exec_status("/bin/true", badv, env));
    say("bad argv array pointer: %s", exec_status("/bin/true", (char **)8, env));
    say("bad path pointer: %s", exec_status((char *)8, a2, env));
}

static void enoexec(void) {
    char *env[] = {NULL};
    char garbage[256];
    for (int i = 0; i < 256; i++) garbage[i] = (char)(i * 37 + 11);
    put_file(tpath("garbage"), garbage, sizeof garbage, 0755);
    char *a[] = {"x", NULL};
    say("garbage file: %s", exec_status(tpath("garbage"), a, env));
    put_file(tpath("empty"), "", 0, 0755);
    say("empty file: %s", exec_status(tpath("empty"), a, env));
    char elf[128] = {0x7f, 'E', 'L', 'F'};
    put_file(tpath("badelf"), elf, sizeof elf, 0755);
    say("ELF magic then zeros: %s", exec_status(tpath("badelf"), a, env));
    put_file(tpath("short"), "\x7f" "ELF\x02\x01\x01", 7, 0755);
    say("truncated ELF header: %s", exec_status(tpath("short"), a, env));
    /* A copy of a real binary with e_machine changed to i386. */
    int in = MUST(open("/bin/true", O_RDONLY));
    static char buf[1 << 20];
    ssize_t n = MUST(read(in, buf, sizeof buf));
    close(in);
    ((ElfW(Ehdr) *)buf)->e_machine = EM_386;
    put_file(tpath("wrongarch"), buf, n, 0755);
    say("wrong e_machine: %s", exec_status(tpath("wrongarch"), a, env));
    put_file(tpath("noexec"), "#!/bin/sh\n", 10, 0644);
    say("file without x bit: %s", exec_status(tpath("noexec"), a, env));
    say("directory: %s", exec_status(tmpdir(), a, env));
    say("missing file: %s", exec_status(tpath("missing"), a, env));
    say("path through a file: %s", exec_status(tpath("noexec/x"), a, env));
    say("empty path: %s", exec_status("", a, env));
    /* execveat with AT_EMPTY_PATH and with a directory fd. */
    int fd = MUST(open("/bin", O_RDONLY | O_DIRECTORY));
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        syscall(SYS_execveat, fd, "true", a, env, 0);
        _exit(100 + errno);
    }
    say("execveat(dirfd, \"true\"): %s", decode(wait_child(c)));
    int tf = MUST(open("/bin/true", O_RDONLY));
    c = MUST(fork());
    if (c == 0) {
        syscall(SYS_execveat, tf, "", a, env, AT_EMPTY_PATH);
        _exit(100 + errno);
    }
    say("execveat(fd, \"\", AT_EMPTY_PATH): %s", decode(wait_child(c)));
    c = MUST(fork());
    if (c == 0) {
        syscall(SYS_execveat, tf, "", a, env, 0);
        _exit(100 + errno);
    }
    say("execveat(fd, \"\", 0): %s", decode(wait_child(c)));
}

static void run_in_dir(const char *what, const char *path, char **argv) {
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    fflush(stdout);
    pid_t c = MUST(fork());
    if (c == 0) {
        MUST(chdir(tmpdir()));
        execve(path, argv, env);
        say("%s: execve failed %s", what, ename(errno));
        _exit(1);
    }
    say("%s: %s", what, wait_child(c));
}

static void shebang(void) {
    const char *s1 = "#!/bin/echo hello\n";
    put_file(tpath("s1"), s1, strlen(s1), 0755);
    const char *s2 = "#!/bin/sh\necho \"sh says $0 $1 $#\"\nexit 3\n";
    put_file(tpath("s2"), s2, strlen(s2), 0755);
    const char *s3 = "#!/nonexistent/interp\n";
    put_file(tpath("s3"), s3, strlen(s3), 0755);
    const char *s4 = "#!   /bin/echo   spaced  args   \n";
    put_file(tpath("s4"), s4, strlen(s4), 0755);
    const char *s5 = "#!./s1\n";
    put_file(tpath("s5"), s5, strlen(s5), 0755);
    const char *s6 = "#!/bin/echo no-newline";
    put_file(tpath("s6"), s6, strlen(s6), 0755);
    put_file(tpath("s7"), s1, strlen(s1), 0644);
    const char *s8 = "#!\n";
    put_file(tpath("s8"), s8, strlen(s8), 0755);
    char *a1[] = {"./s1", "arg1", NULL};
    run_in_dir("#!/bin/echo hello", "./s1", a1);
    char *a2[] = {"./s2", "x", "y", NULL};
    run_in_dir("#!/bin/sh", "./s2", a2);
    char *a3[] = {"./s3", NULL};
    run_in_dir("missing interpreter", "./s3", a3);
    char *a4[] = {"./s4", NULL};
    run_in_dir("spaces around interpreter and argument", "./s4", a4);
    char *a5[] = {"./s5", "z", NULL};
    run_in_dir("script as interpreter", "./s5", a5);
    char *a6[] = {"./s6", NULL};
    run_in_dir("no newline", "./s6", a6);
    char *a7[] = {"./s7", NULL};
    run_in_dir("not executable", "./s7", a7);
    char *a8[] = {"./s8", NULL};
    run_in_dir("empty interpreter", "./s8", a8);
    char *a9[] = {"renamed-argv0", NULL};
    run_in_dir("argv[0] differs from path", "./s1", a9);
}

static void exec_dynamic(void) {
    /* Dynamic host binaries run (the interpreter is loaded by the kernel). */
    char *a[] = {"/bin/echo", "dynamic", "echo", NULL};
    char *env[] = {NULL};
    say("/bin/echo: %s", exec_status("/bin/echo", a, env));
    char *b[] = {"/bin/busybox", "echo", "static", "busybox", NULL};
    say("/bin/busybox: %s", exec_status("/bin/busybox", b, env));
    char *c[] = {"ld.so", "/bin/echo", "via", "ld.so", NULL};
    say("ld.so run directly: %s", exec_status("/lib64/ld-linux-x86-64.so.2", c, env));
}

int main(int argc, char **argv, char **envp) {
    g_argc = argc;
    g_argv = argv;
    g_envp = envp;
    static const struct tcase cases[] = {CASE(auxv),     CASE(stack),   CASE(print_args), CASE(print_env),
                                         CASE(exec_args), CASE(e2big),  CASE(enoexec),    CASE(shebang),
                                         CASE(exec_dynamic), {0, 0}};
    /* Re-exec'd with a custom argv[0]: argv[1] is the case. */
    return run_cases(cases, argc, argv);
}
