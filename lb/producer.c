/* producer.c: an exchange's producer let go when the exchange ends early, and the local
 * producer (answers fulcrum makes itself) (include/producer.h). */
#include "conn.h"
#include "producer.h"

void exchange_abandon(struct client *c)
{
	struct exchange *x = c->ex;

	if (x && x->producer)
		x->producer->abandon(c);
}

/* The answer is whole in x->local; the protocol writes it in its own framing. */
static void local_start(struct client *c)
{
	c->proto->send_answer(c, &c->ex->local);
}

/* Nothing was held to make it. */
static void local_release(struct client *c, int reusable)
{
	(void)c;
	(void)reusable;
}

static void local_abandon(struct client *c)
{
	(void)c;
}

const struct producer local_producer = {
	.name = "local",
	.start = local_start,
	.done = local_release,
	.abandon = local_abandon,
};
