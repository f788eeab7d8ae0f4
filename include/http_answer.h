/* http_answer.h: the answers fulcrum makes itself on an HTTP/1.1 connection
 * (lb/http_answer.c), http1_proto's send_answer. */
#ifndef FULCRUM_HTTP_ANSWER_H
#define FULCRUM_HTTP_ANSWER_H

struct client;
struct local_answer;
struct error_page;

/* Writes a as the whole response of c's current exchange and closes the connection
 * (what the client still sends is drained first); c may be closed on return. */
void http_send_answer(struct client *c, const struct local_answer *a);

/* The operator's page for an answer of status to c's current request: its route's
 * (routes[].error_pages), else its listener's, chosen by the request's Accept; NULL
 * when neither has one (the answer keeps its own body). */
const struct error_page *http_error_page(const struct client *c, int status);

#endif
