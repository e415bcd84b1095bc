/* Threads: mutexes, condition variables, barriers, TLS, joins, many threads.
 * Results are deterministic whatever the interleaving. */
#include "t.h"
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>

#define NT 8

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;

static void *incr(void *arg) {
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    return (void *)n;
}

static void mutex_counter(void) {
    pthread_t t[NT];
    counter = 0;
    for (long i = 0; i < NT; i++) MUST(pthread_create(&t[i], NULL, incr, (void *)20000L) == 0 ? 0 : -1);
    long sum = 0;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    say("8 threads x 20000 locked increments: counter %ld, join values sum %ld", counter, sum);
}

/* Bounded queue: producers and consumers with two condition variables. */
#define QCAP 16
static int q[QCAP], qhead, qlen, producers_left;
static pthread_cond_t notfull = PTHREAD_COND_INITIALIZER, notempty = PTHREAD_COND_INITIALIZER;
static long consumed_sum, consumed_count;

static void *producer(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&mu);
        while (qlen == QCAP) pthread_cond_wait(&notfull, &mu);
        q[(qhead + qlen) % QCAP] = (int)(id * 100000 + i);
        qlen++;
        pthread_cond_signal(&notempty);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    producers_left--;
    pthread_cond_broadcast(&notempty);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    long sum = 0, count = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (qlen == 0 && producers_left > 0) pthread_cond_wait(&notempty, &mu);
        if (qlen == 0) {
            pthread_mutex_unlock(&mu);
            break;
        }
        int v = q[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&notfull);
        pthread_mutex_unlock(&mu);
        sum += v;
        count++;
    }
    pthread_mutex_lock(&mu);
    consumed_sum += sum;
    consumed_count += count;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void condvar_queue(void) {
    pthread_t p[4], c[4];
    producers_left = 4;
    for (long i = 0; i < 4; i++) pthread_create(&p[i], NULL, producer, (void *)i);
    for (long i = 0; i < 4; i++) pthread_create(&c[i], NULL, consumer, NULL);
    for (int i = 0; i < 4; i++) pthread_join(p[i], NULL);
    for (int i = 0; i < 4; i++) pthread_join(c[i], NULL);
    say("4 producers, 4 consumers: %ld items, sum %ld", consumed_count, consumed_sum);
}

/* Turn-taking: each thread waits for its turn on one condvar (broadcast). */
static int turn;
static char order[NT * 10 + 1];
static int olen;
static void *taker(void *arg) {
    int id = (int)(long)arg;
    for (int round = 0; round < 10; round++) {
        pthread_mutex_lock(&mu);
        while (turn % NT != id) pthread_cond_wait(&cv, &mu);
        order[olen++] = (char)('A' + id);
        turn++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void turns(void) {
    pthread_t t[NT];
    for (long i = NT - 1; i >= 0; i--) pthread_create(&t[i], NULL, taker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    say("turn order: %s", order);
    /* timed wait times out */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    int r = pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_mutex_unlock(&mu);
    CHECK(r == ETIMEDOUT, "pthread_cond_timedwait times out");
}

static pthread_barrier_t bar;
static atomic_long phase_sum[100];
static void *barrier_worker(void *arg) {
    long id = (long)arg;
    for (int ph = 0; ph < 100; ph++) {
        atomic_fetch_add(&phase_sum[ph], id + 1);
        pthread_barrier_wait(&bar);
        /* After the barrier every thread of this phase has added. */
        if (atomic_load(&phase_sum[ph]) != NT * (NT + 1) / 2) return (void *)1;
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static void barrier(void) {
    pthread_barrier_init(&bar, NULL, NT);
    pthread_t t[NT];
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, barrier_worker, (void *)i);
    long bad = 0;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    CHECK(bad == 0, "100 barrier phases with 8 threads");
}

static __thread int tls_val = 42;
static __thread char tls_buf[64];
static void *tls_worker(void *arg) {
    long id = (long)arg;
    int ok = tls_val == 42;
    tls_val = (int)id;
    snprintf(tls_buf, sizeof tls_buf, "thread %ld", id);
    sched_yield();
    ok = ok && tls_val == id;
    char want[64];
    snprintf(want, sizeof want, "thread %ld", id);
    ok = ok && !strcmp(tls_buf, want);
    return (void *)(long)ok;
}

static void tls(void) {
    pthread_t t[NT];
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, tls_worker, (void *)i);
    int good = 1;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        good &= (long)r == 1;
    }
    CHECK(good && tls_val == 42, "each thread has its own TLS");
}

static atomic_int alive;
static void *short_lived(void *arg) {
    atomic_fetch_add(&alive, 1);
    return arg;
}

static void *poster(void *a) {
    sem_post(a);
    return NULL;
}

static void many_threads(void) {
    long sum = 0;
    for (int batch = 0; batch < 25; batch++) {
        pthread_t t[16];
        for (long i = 0; i < 16; i++) MUST(pthread_create(&t[i], NULL, short_lived, (void *)(batch * 16 + i)) == 0 ? 0 : -1);
        for (int i = 0; i < 16; i++) {
            void *r;
            pthread_join(t[i], &r);
            sum += (long)r;
        }
    }
    say("400 threads created and joined: ran %d, sum %ld", atomic_load(&alive), sum);
    /* Detached threads and a semaphore. */
    static sem_t s;
    sem_init(&s, 0, 0);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 10; i++) {
        pthread_t t;
        pthread_create(&t, &at, poster, &s);
    }
    for (int i = 0; i < 10; i++) sem_wait(&s);
    say("10 detached threads posted the semaphore");
    /* A thread with a small custom stack. */
    pthread_attr_t small;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 64 * 1024);
    pthread_t t;
    void *r;
    CHECK(pthread_create(&t, &small, short_lived, (void *)7) == 0 && pthread_join(t, &r) == 0 && r == (void *)7,
          "thread with a 64 KiB stack");
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_data[4];
static void *rw_writer(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_wrlock(&rw);
        for (int k = 0; k < 4; k++) rw_data[k] += id;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}
static void *rw_reader(void *arg) {
    (void)arg;
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_rdlock(&rw);
        for (int k = 1; k < 4; k++) bad += rw_data[k] != rw_data[0];
        pthread_rwlock_unlock(&rw);
    }
    return (void *)bad;
}

static void rwlock(void) {
    pthread_t w[4], r[4];
    for (long i = 0; i < 4; i++) {
        pthread_create(&w[i], NULL, rw_writer, (void *)(i + 1));
        pthread_create(&r[i], NULL, rw_reader, NULL);
    }
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *b;
        pthread_join(w[i], NULL);
        pthread_join(r[i], &b);
        bad += (long)b;
    }
    say("rwlock: data %ld, torn reads %ld", rw_data[0], bad);
}

static void *main_exit_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) sched_yield();
    say("worker outlived pthread_exit of main");
    exit(7);
}

static void main_pthread_exit(void) {
    pthread_t t;
    pthread_create(&t, NULL, main_exit_worker, NULL);
    pthread_exit(NULL);
}

int main(int argc, char **argv) {
    static const struct tcase cases[] = {CASE(mutex_counter), CASE(condvar_queue), CASE(turns),
                                         CASE(barrier),       CASE(tls),           CASE(many_threads),
                                         CASE(rwlock),        CASE(main_pthread_exit), {0, 0}};
    return run_cases(cases, argc, argv);
}
