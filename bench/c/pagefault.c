/* Page-fault cost: touch every page of 256 MiB of fresh anonymous memory
 * (one write per 4 KiB page); repeated with a fresh mapping until
 * MIN_SECONDS passed. Reports time per page (rate = 1e9 / value). */
#include "bench.h"
#include <sys/mman.h>

#define SIZE (256UL << 20)

static void op(long n) {
    for (long i = 0; i < n; i++) {
        volatile char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); exit(1); }
        for (unsigned long off = 0; off < SIZE; off += 4096) p[off] = 1;
        munmap((void *)p, SIZE);
    }
}

int main(void) {
    double per_map = per_op(op, 1);
    printf("RESULT %.1f ns\n", per_map / (SIZE / 4096) * 1e9);
    return 0;
}
