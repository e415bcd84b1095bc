/* Shared helpers for moat's benchmark programs: each program repeats its
 * operation in growing batches until at least MIN_SECONDS have passed, then
 * prints one line: "RESULT <value> <unit>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef MIN_SECONDS
#define MIN_SECONDS 1.0
#endif

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Run op() in batches until MIN_SECONDS passed; returns seconds per op. */
static double per_op(void (*op)(long n), long first_batch) {
    op(first_batch); /* warm up */
    long total = 0, batch = first_batch;
    double start = now_s(), el;
    for (;;) {
        op(batch);
        total += batch;
        el = now_s() - start;
        if (el >= MIN_SECONDS) break;
        if (el < MIN_SECONDS / 4) batch *= 2;
    }
    return el / total;
}
