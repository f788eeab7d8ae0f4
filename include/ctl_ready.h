/* ctl_ready.h: what /readyz answers: whether this replica can serve, and if not, why. */
#ifndef FULCRUM_CTL_READY_H
#define FULCRUM_CTL_READY_H

#include <cjson/cJSON.h>

/* The readiness verdict as a JSON object (the caller owns it): {"status": "ready"}, or
 * {"status": "not_ready" | "stopping", "reasons": [{"pool", "listener"?, "reason",
 * "detail"}]}. *ready is 1 when this replica can serve: the config is applied, the
 * default pool of every listener has a backend in rotation (or allow_empty), every
 * discovery pool listed once, and no SIGTERM came. NULL on ENOMEM. */
cJSON *ctl_ready_json(int *ready);

#endif
