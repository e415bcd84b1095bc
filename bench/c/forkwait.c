/* fork + _exit + waitpid latency. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static void op(long n) {
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        if (p < 0) { perror("fork"); exit(1); }
        int st;
        waitpid(p, &st, 0);
    }
}

int main(void) {
    printf("RESULT %.1f us\n", per_op(op, 4) * 1e6);
    return 0;
}
