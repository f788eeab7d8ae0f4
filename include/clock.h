/* clock.h: the process's clocks, one function per question asked of them. The
 * monotonic ones measure durations and schedules; the wall ones stamp what a person or
 * another host reads (log lines, the API's times). Loop-driven code asks its loop
 * (ev_now) instead: these are for code that runs without one or needs the time now. */
#ifndef FULCRUM_CLOCK_H
#define FULCRUM_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in seconds: check durations, ticket key schedules, loop stalls. */
double clock_mono_s(void);
/* CLOCK_MONOTONIC in nanoseconds: the fine-grained bits that seed a random generator. */
uint64_t clock_mono_ns(void);
/* CLOCK_MONOTONIC_COARSE in milliseconds (a tick, 1-4 ms, and no syscall): the time
 * base of backend state shared between threads (drain deadlines, health, ejections). */
long long clock_coarse_ms(void);
/* Wall clock (CLOCK_REALTIME) in seconds since the epoch, to the microsecond. */
double clock_wall_s(void);
/* Wall clock in milliseconds since the epoch (log timestamps, the API's now_ms). */
long long clock_wall_ms(void);

#endif
