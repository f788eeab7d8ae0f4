/* http_answer.h: the answers fulcrum makes itself on an HTTP/1.1 connection
 * (lb/http_answer.c), http1_proto's send_answer. */
#ifndef FULCRUM_HTTP_ANSWER_H
#define FULCRUM_HTTP_ANSWER_H

struct client;
struct local_answer;

/* Writes a as the whole response of c's current exchange and closes the connection
 * (what the client still sends is drained first); c may be closed on return. */
void http_send_answer(struct client *c, const struct local_answer *a);

#endif
