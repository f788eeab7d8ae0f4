/* main.c: the fulcrum process: command line, the control thread's loop (signals,
 * reloads, shutdown deadline), privileges and limits, starting the workers. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/opensslv.h>

#include "buffering.h"
#include "cluster_replica.h"
#include "config.h"
#include "error_pages.h"
#include "route.h"
#include "ctl.h"
#include "ctl_notify.h"
#include "fs_private.h"
#include "generation.h"
#include "health.h"
#include "log.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

static void usage(FILE *out);
static int resolve_workers(const struct config *cfg);
static void raise_fd_limit(const struct config *cfg);
static int drop_privileges(const struct config *cfg);
static struct config *load(const char *path, struct config_errors *errs);
static int default_state_dir(struct config *cfg);
static int check_state_dir(const struct config *cfg);
static void reload(void);
static void on_sighup(struct ev_loop *loop, ev_signal *s, int revents);
static void on_sigterm(struct ev_loop *loop, ev_signal *s, int revents);
static void on_sigusr1(struct ev_loop *loop, ev_signal *s, int revents);
static void on_shutdown_tick(struct ev_loop *loop, ev_timer *t, int revents);
static void replica_left(void);

static const char *config_path;      /* NULL = embedded default */
static double stop_deadline;
static ev_timer shutdown_tick;
static int stopping;
static struct ev_loop *control_loop;  /* for replica_left, which libev does not call */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fulcrum [-c FILE] [-t] [--version]\n"
		"  -c FILE     run with this configuration (default: the embedded demo config)\n"
		"  -t          check the configuration, print every error as file:line, exit 0/1\n"
		"  --version   print version and build information\n"
		"signals: HUP reload, TERM/INT graceful stop, USR1 reopen the access log,\n"
		"         USR2 log the health summary (longest control-loop stall, checks)\n");
}

/* Loads a config with every error collected in errs (printed by the caller, or sent back
 * by the control API's reload). */
static struct config *load(const char *path, struct config_errors *errs)
{
	struct config *cfg;

	if (path)
		return config_load_file(path, errs);
	cfg = config_load_string(config_default_text, "(embedded default)", errs);
	if (cfg && default_state_dir(cfg) == -1) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* The embedded config's state_dir is the user's own: $XDG_RUNTIME_DIR/fulcrum, else
 * /tmp/fulcrum-<uid>, created 0700. A shared fixed path in /tmp would let another local
 * user plant a journal that a root demo replays. Set on the freshly loaded config, before
 * anything else sees it. 0, or -1 (logged). */
static int default_state_dir(struct config *cfg)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[4096], err[512];
	char *copy;

	if (xdg && xdg[0] == '/' &&
	    fs_check_private("XDG_RUNTIME_DIR", xdg, S_IFDIR, geteuid(), err, sizeof(err)) == 0)
		snprintf(dir, sizeof(dir), "%s/fulcrum", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/fulcrum-%u", (unsigned)geteuid());
	if (fs_private_dir("state_dir", dir, geteuid(), err, sizeof(err)) == -1) {
		fprintf(stderr, "fulcrum: %s\n", err);
		return -1;
	}
	copy = strdup(dir);
	if (!copy)
		return -1;
	free(cfg->state_dir);
	cfg->state_dir = copy;
	return 0;
}

/* A state_dir that exists must belong to the user fulcrum runs as (after dropping
 * privileges) or root and be writable by nobody else: its journal is replayed at start.
 * One that does not exist yet is created 0700 by the control plane. 0, or -1 (logged). */
static int check_state_dir(const struct config *cfg)
{
	uid_t uid = fs_run_uid(cfg->user);
	char err[512];

	if (uid == (uid_t)-1) {
		log_error("user %s does not exist", cfg->user);
		return -1;
	}
	if (access(cfg->state_dir, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (fs_check_private("state_dir", cfg->state_dir, S_IFDIR, uid, err, sizeof(err)) == -1) {
		log_error("%s; refusing to start", err);
		return -1;
	}
	return 0;
}

static int resolve_workers(const struct config *cfg)
{
	long n = cfg->workers;

	if (n == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	return (int)n;
}

/* Every connection costs up to two descriptors (client + backend). Raises the limit to
 * what max_connections needs; where the hard limit does not allow that, the effective
 * global limit is lowered to fit (as HAProxy derives maxconn) and said once. */
static void raise_fd_limit(const struct config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections * 2 + 1024;

	proc.max_connections = cfg->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) {
		rl.rlim_cur = want;
	} else {
		/* only root may raise the hard limit */
		struct rlimit hard = { want, want };
		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return;
		rl.rlim_cur = rl.rlim_max;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < want) {
		uint32_t fit = rl.rlim_cur > 1024 + 2 ? (uint32_t)((rl.rlim_cur - 1024) / 2) : 1;
		proc.max_connections = fit;
		log_info("max_connections %u needs %llu descriptors but RLIMIT_NOFILE allows %llu; "
			 "using %u (raise LimitNOFILE / ulimit -n for more)", cfg->max_connections,
			 (unsigned long long)want, (unsigned long long)rl.rlim_cur, fit);
	}
}

static int drop_privileges(const struct config *cfg)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid;

	if (!cfg->user && !cfg->group)
		return 0;
	if (cfg->user && !(pw = getpwnam(cfg->user))) {
		log_error("user %s does not exist", cfg->user);
		return -1;
	}
	if (cfg->group && !(gr = getgrnam(cfg->group))) {
		log_error("group %s does not exist", cfg->group);
		return -1;
	}
	gid = gr ? gr->gr_gid : pw->pw_gid;
	if (setgid(gid) == -1 ||
	    (pw && initgroups(pw->pw_name, gid) == -1) ||
	    (!pw && setgroups(1, &gid) == -1)) {
		log_error("cannot switch to group %u: %s", (unsigned)gid, strerror(errno));
		return -1;
	}
	if (pw && setuid(pw->pw_uid) == -1) {
		log_error("cannot switch to user %s: %s", cfg->user, strerror(errno));
		return -1;
	}
	log_info("running as user %s group %u", pw ? pw->pw_name : "(unchanged)", (unsigned)gid);
	return 0;
}

/* Re-reads the file and applies it as a whole, or changes nothing; the control plane
 * lays the runtime journal over it (control/state.c). */
static void reload(void)
{
	ctl_reload_signal();
}

static void on_sighup(struct ev_loop *loop, ev_signal *s, int revents)
{
	if (!stopping)
		reload();
}

static void on_sigusr1(struct ev_loop *loop, ev_signal *s, int revents)
{
	if (access_log_reopen() == -1)
		log_error("cannot reopen the access log: %s", strerror(errno));
	else
		log_info("access log reopened");
}

static void on_sigterm(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct generation *g;

	if (stopping) {
		log_warn("second stop signal: closing every connection now");
		worker_stop_all(2);
		return;
	}
	stopping = 1;
	ctl_set_stopping();
	g = proc_current_generation();
	stop_deadline = ev_now(loop) + (g ? g->cfg->shutdown_timeout_s : 30);
	log_info("stopping: no new connections; finishing in-flight requests for up to %u s",
		 g ? g->cfg->shutdown_timeout_s : 30);
	generation_unref(g);
	worker_stop_all(1);
	ev_timer_init(&shutdown_tick, on_shutdown_tick, 0.1, 0.1);
	ev_timer_start(loop, &shutdown_tick);
}

static void on_shutdown_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	int i, running = 0;

	for (i = 0; i < proc.nworkers; i++) {
		if (!proc.workers[i].thread)
			continue;  /* joined on an earlier tick */
		if (pthread_tryjoin_np(proc.workers[i].thread, NULL) == EBUSY)
			running = 1;
		else
			proc.workers[i].thread = 0;
	}
	if (!running) {
		/* nothing is in flight here any more: in cluster mode the others stop counting
		 * this replica now (its key goes), then the loop ends */
		ev_timer_stop(loop, t);
		control_loop = loop;
		ctl_replicas_leave(replica_left);
		return;
	}
	if (ev_now(loop) >= stop_deadline) {
		log_warn("shutdown deadline reached with %u connections left; closing them",
			 worker_total_clients());
		worker_stop_all(2);
		stop_deadline = ev_now(loop) + 3600;
	}
}

static void replica_left(void)
{
	ev_break(control_loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ev_loop *loop;
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct generation *g;
	char err[512];
	int opt, check_only = 0, nworkers, i;
	sigset_t set;

	while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 't': check_only = 1; break;
		case 'V':
			printf("fulcrum %s (git %s, built %s %s, %s, libev %d.%d)\n", FULCRUM_VERSION,
			       FULCRUM_GIT_REV, __DATE__, __TIME__, OPENSSL_VERSION_TEXT,
			       ev_version_major(), ev_version_minor());
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	cfg = load(config_path, &errs);
	config_errors_print(&errs, stderr);
	config_errors_clear(&errs);
	if (!cfg) {
		fprintf(stderr, "fulcrum: configuration %s is invalid\n",
			config_path ? config_path : "(embedded default)");
		return 1;
	}
	if (check_only) {
		/* the files a generation would read: certificates, keys, CAs, ticket keys */
		if (tls_config_check(cfg, stderr) + error_pages_check(cfg, stderr) > 0) {
			fprintf(stderr, "fulcrum: configuration %s is invalid\n",
				config_path ? config_path : "(embedded default)");
			config_free(cfg);
			return 1;
		}
		route_unreachable_print(cfg, stderr);
		printf("configuration %s is valid (%zu listeners, %zu pools)\n",
		       config_path ? config_path : "(embedded default)", cfg->nlisteners, cfg->npools);
		config_free(cfg);
		return 0;
	}
	log_set_level(cfg->log.level);
	signal(SIGPIPE, SIG_IGN);  /* a peer closing mid-write is an EPIPE, not a death */
	if (access_log_open(cfg->log.access) == -1) {
		log_error("cannot open access log %s: %s", cfg->log.access, strerror(errno));
		config_free(cfg);
		return 1;
	}
	raise_fd_limit(cfg);
	nworkers = resolve_workers(cfg);
	stats_set_workers(nworkers);  /* before the first backend gets its counter blocks */
	if (check_state_dir(cfg) == -1 || ctl_init(&cfg, config_path, load) == -1) {
		config_free(cfg);
		return 1;
	}
	g = generation_build(cfg, NULL, nworkers, ctl_next_generation_id(), err, sizeof(err));
	if (!g) {
		log_error("%s", err);
		config_free(cfg);
		return 1;
	}
	log_set_generation(g->id);
	if (drop_privileges(cfg) == -1) {
		generation_unref(g);
		return 1;
	}
	/* after dropping privileges: the spill directory must be the running user's */
	if (buffering_set_default_dir(cfg->state_dir) == -1) {
		generation_unref(g);
		return 1;
	}
	proc.current = g;

	/* block the handled signals before the workers exist so they inherit the mask;
	 * the control loop takes them through ev_signal */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	loop = ev_default_loop(EVFLAG_AUTO);
	/* before the workers: libcurl's global init must not race other threads */
	if (health_start(loop, g) == -1)
		return 1;
	if (worker_start_all(nworkers) == -1) {
		log_error("cannot start %d workers", nworkers);
		return 1;
	}
	ev_signal_init(&sig_hup, on_sighup, SIGHUP);
	ev_signal_init(&sig_term, on_sigterm, SIGTERM);
	ev_signal_init(&sig_int, on_sigterm, SIGINT);
	ev_signal_init(&sig_usr1, on_sigusr1, SIGUSR1);
	ev_signal_start(loop, &sig_hup);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_usr1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (ctl_start(loop, g) == -1)
		return 1;
	for (i = 0; i < (int)cfg->nlisteners; i++)
		log_info("listener %s: %s on %s -> %zu routes, then pool %s", cfg->listeners[i].name,
			 cfg->listeners[i].mode == LISTENER_TCP ? "tcp" : "http",
			 cfg->listeners[i].bind.text, cfg->listeners[i].nroutes,
			 cfg->listeners[i].pool ? cfg->listeners[i].pool : "(none: 404)");
	log_info("fulcrum %s started: %d workers, config %s", FULCRUM_VERSION, nworkers,
		 config_path ? config_path : "(embedded default)");
	/* listeners bound, the first generation published, workers and the API running */
	ctl_notify_ready(loop);

	ev_run(loop, 0);

	ctl_notify_shutdown();
	ctl_shutdown();
	health_stop();
	worker_join_all();
	generation_unref(proc.current);
	proc.current = NULL;
	log_info("stopped");
	return 0;
}
