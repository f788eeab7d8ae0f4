/* lifecycle.c: the control plane's hooks for the process (include/ctl.h): its parts
 * brought up in order (state_dir and the journal, the token, the listener; then leases,
 * cluster mode, discovery and the API on the loop), each handed the callbacks by which
 * it reaches the change path, and taken down at shutdown. The state itself and every
 * change to it are control/state.c; this file only wires the parts together. */
#include "clock.h"
#include "cluster_replica.h"
#include "config.h"
#include "ctl.h"
#include "ctl_api.h"
#include "discovery.h"
#include "log.h"

int ctl_init(struct config **cfgp, const char *config_path,
	     struct config *(*load)(const char *path, struct config_errors *errs))
{
	struct config *file = *cfgp, *merged;
	char err[512];

	ctl_plane.config_path = config_path;
	ctl_plane.load = load;
	ctl_plane.started = clock_wall_s();
	merged = ctl_state_open(file);
	if (!merged)
		return -1;
	if (ctl_auth_load(file, clock_wall_s(), err, sizeof(err)) == -1) {
		log_error("%s", err);
		config_free(merged);
		return -1;
	}
	if (file->control.listen) {
		if (ctl_server_open(file->control.listen, err, sizeof(err)) == -1 ||
		    ctl_server_tls(file, err, sizeof(err)) == -1) {
			log_error("%s", err);
			config_free(merged);
			return -1;
		}
		ctl_plane.api = 1;
	}
	ctl_plane.file = file;
	ctl_pools_fingerprint(file, ctl_plane.file_pools);
	*cfgp = merged;
	return 0;
}

/* What the store says in cluster mode goes the change path's way (control/state.c). */
static const struct ctl_cluster_apply cluster_apply = {
	.entry = ctl_apply_remote,
	.renewal = ctl_apply_remote_renewal,
	.all = ctl_apply_remote_all,
};

/* The replicas' keys under the prefix are theirs (control/cluster_replicas.c). */
static const struct ctl_cluster_replicas cluster_replicas = {
	.start = ctl_replicas_start,
	.stop = ctl_replicas_stop,
	.owns = ctl_replicas_owns,
	.list_begin = ctl_replicas_list_begin,
	.kv = ctl_replicas_kv,
	.deleted = ctl_replicas_deleted,
};

int ctl_start(struct ev_loop *loop, struct generation *g)
{
	ctl_state_start(loop, g);
	ctl_lease_start(loop, ctl_delete_backend);
	if (ctl_plane.file->cluster) {
		char err[512];

		if (ctl_cluster_start(loop, ctl_plane.file->cluster, &cluster_apply,
				      &cluster_replicas, err, sizeof(err)) == -1) {
			log_error("cluster: %s", err);
			return -1;
		}
	}
	discovery_start(loop, g->cfg, ctl_apply_discovered);
	if (ctl_plane.api) {
		ctl_server_start(loop);
		log_info("control API on %s (%s%s)", ctl_server_address(),
			 ctl_auth_required() ? "bearer token required" : "no token",
			 ctl_server_tls_note());
	}
	return 0;
}

void ctl_shutdown(void)
{
	discovery_stop();
	if (ctl_plane.loop)
		ctl_lease_stop(ctl_plane.loop);
	ctl_server_close();
	/* after the server: closing it cancels the calls that wait for the store */
	ctl_cluster_stop();
	ctl_state_close();
	ctl_auth_clear();
}
