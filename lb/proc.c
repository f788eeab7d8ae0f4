/* proc.c: what the worker threads of the process share: the published generation (the
 * control loop publishes, each worker picks it up at a safe point) and the counters every
 * worker adds to. */
#include "worker.h"

struct proc proc = { .gen_lock = PTHREAD_MUTEX_INITIALIZER };

struct generation *proc_current_generation(void)
{
	struct generation *g;

	pthread_mutex_lock(&proc.gen_lock);
	g = proc.current;
	if (g)
		generation_ref(g);
	pthread_mutex_unlock(&proc.gen_lock);
	return g;
}

void proc_publish(struct generation *g)
{
	struct generation *old;
	int i;

	pthread_mutex_lock(&proc.gen_lock);
	old = proc.current;
	proc.current = g;
	pthread_mutex_unlock(&proc.gen_lock);
	/* the descriptor limit does not change on reload: keep the fitted value below it */
	if (g->cfg->max_connections < proc.max_connections)
		proc.max_connections = g->cfg->max_connections;
	for (i = 0; i < proc.nworkers; i++) {
		atomic_store(&proc.workers[i].want_gen, 1);
		ev_async_send(proc.workers[i].loop, &proc.workers[i].wake);
	}
	generation_unref(old);
}
