/* ctl_metrics.h: what the control API shows of the counters: the Prometheus text of
 * GET /metrics (control/metrics.c) and the JSON of GET /v1/stats for the status page
 * (control/stats_view.c). Control thread. */
#ifndef FULCRUM_CTL_METRICS_H
#define FULCRUM_CTL_METRICS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "generation.h"

/* The process as /proc/self shows it. */
struct ctl_process_info {
	double cpu_seconds;              /* user + system */
	double resident_bytes;
	double virtual_bytes;
	double open_fds;
	double max_fds;                  /* RLIMIT_NOFILE soft limit, -1 = unlimited */
	double start_time;               /* unix seconds */
};

/* Reads /proc/self/{stat,statm,fd} and /proc/stat. 0, or -1 when /proc is unreadable. */
int ctl_metrics_process(struct ctl_process_info *pi);

/* The whole exposition of g (text format 0.0.4), malloc'd, length in *len; NULL on
 * ENOMEM. Sums every worker's counters as of now. */
char *ctl_metrics_render(const struct generation *g, size_t *len);

/* The "result" label of a health check result (enum health_result). */
const char *ctl_metrics_check_result(int r);

/* Seconds since start (wall clock). */
double ctl_uptime_s(void);

/* GET /v1/stats: pools, backends, counters and cumulative latency buckets of g. */
cJSON *ctl_stats_json(const struct generation *g);

#endif
