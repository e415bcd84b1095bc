/* getpid latency: a loop of raw syscall(SYS_getpid) (no libc caching). */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

static void op(long n) {
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
}

int main(void) {
    printf("RESULT %.1f ns\n", per_op(op, 1000) * 1e9);
    return 0;
}
