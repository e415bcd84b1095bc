/* fork + execve(/bin/true) + waitpid latency. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static const char *prog = "/bin/true";

static void op(long n) {
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            char *argv[] = {(char *)prog, NULL};
            char *envp[] = {NULL};
            execve(prog, argv, envp);
            _exit(127);
        }
        if (p < 0) { perror("fork"); exit(1); }
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "exec of %s failed\n", prog); exit(1); }
    }
}

int main(int argc, char **argv) {
    if (argc > 1) prog = argv[1];
    printf("RESULT %.1f us\n", per_op(op, 2) * 1e6);
    return 0;
}
