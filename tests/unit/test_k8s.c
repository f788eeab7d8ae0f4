/* test_k8s.c: unit tests of Kubernetes discovery's pure parts: the watch stream's line
 * splitter (control/k8s_stream.c), EndpointSlice events and lists (control/k8s_parse.c),
 * the reduction of slices to endpoints (control/k8s_reduce.c), and the config keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "k8s.h"

/* Lines a splitter gave, joined with '|' (bounded). */
struct collected {
	char text[4096];
	int n;
	int stop_after;              /* the callback returns -1 at this line; 0 = never */
};

static int collect(void *ctx, const char *line, size_t len);
static void feed_in_pieces(const char *input, size_t step, struct collected *out, int *rc);
static void parse_ok(const char *json, const struct k8s_port_sel *sel, struct k8s_event *ev);
static void parse_fails(const char *json, const char *words);
static const struct k8s_endpoint *find_ep(const struct k8s_slice *s, const char *ip);

static void test_state_mapping(void **state);
static void test_lines_every_split(void **state);
static void test_lines_bounds_and_stop(void **state);
static void test_event_added(void **state);
static void test_event_bookmark_error_deleted(void **state);
static void test_event_bad(void **state);
static void test_port_selection(void **state);
static void test_list(void **state);
static void test_reduce(void **state);
static void test_fallback_name(void **state);
static void test_reduce_dual_stack(void **state);
static void test_config_keys(void **state);

#define SLICE(name, rv, type, ports, eps)                                                   \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv \
	"\"},\"addressType\":\"" type "\",\"ports\":" ports ",\"endpoints\":" eps "}"
#define EP(ip, pod, conds)                                                                  \
	"{\"addresses\":[\"" ip "\"],\"conditions\":" conds ",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"" pod "\"}}"
#define HTTP_PORT "[{\"name\":\"http\",\"port\":8000,\"protocol\":\"TCP\"}]"

static int collect(void *ctx, const char *line, size_t len)
{
	struct collected *c = ctx;
	size_t used = strlen(c->text);

	c->n++;
	snprintf(c->text + used, sizeof(c->text) - used, "%s%.*s", used ? "|" : "", (int)len, line);
	return c->stop_after && c->n >= c->stop_after ? -1 : 0;
}

static void feed_in_pieces(const char *input, size_t step, struct collected *out, int *rc)
{
	struct k8s_lines l;
	size_t len = strlen(input), pos = 0;

	memset(out, 0, sizeof(*out));
	k8s_lines_init(&l, 1024);
	*rc = 0;
	while (pos < len && *rc == 0) {
		size_t n = len - pos < step ? len - pos : step;

		*rc = k8s_lines_feed(&l, input + pos, n, collect, out);
		pos += n;
	}
	k8s_lines_free(&l);
}

static void test_state_mapping(void **state)
{
	/* ready, serving, terminating; -1 = absent */
	assert_int_equal(k8s_endpoint_state(1, 1, 0), K8S_EP_ACTIVE);
	assert_int_equal(k8s_endpoint_state(-1, -1, -1), K8S_EP_ACTIVE);   /* absent ready = ready */
	assert_int_equal(k8s_endpoint_state(0, 0, 0), K8S_EP_GONE);        /* not ready yet */
	assert_int_equal(k8s_endpoint_state(0, -1, -1), K8S_EP_GONE);
	assert_int_equal(k8s_endpoint_state(0, 1, 1), K8S_EP_DRAINING);    /* serving, terminating */
	assert_int_equal(k8s_endpoint_state(0, 0, 1), K8S_EP_GONE);        /* terminating, done serving */
	assert_int_equal(k8s_endpoint_state(1, -1, 1), K8S_EP_DRAINING);   /* serving follows ready */
	assert_int_equal(k8s_endpoint_state(0, -1, 1), K8S_EP_GONE);
	/* ready with serving false is inconsistent; ready decides while not terminating */
	assert_int_equal(k8s_endpoint_state(1, 0, 0), K8S_EP_ACTIVE);
}

static void test_lines_every_split(void **state)
{
	const char *input = "{\"a\":1}\n{\"b\":2}\r\n\n\r\n{\"c\":\"x\\ny\"}\n{\"tail";
	struct collected whole, part;
	size_t step;
	int rc;

	feed_in_pieces(input, strlen(input), &whole, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(whole.n, 3);
	assert_string_equal(whole.text, "{\"a\":1}|{\"b\":2}|{\"c\":\"x\\ny\"}");
	for (step = 1; step < strlen(input); step++) {
		feed_in_pieces(input, step, &part, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(part.text, whole.text);
	}
}

static void test_lines_bounds_and_stop(void **state)
{
	struct k8s_lines l;
	struct collected c;
	char big[3000];

	/* a line longer than max fails, whole or in pieces */
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	memset(&c, 0, sizeof(c));
	k8s_lines_init(&l, 1024);
	assert_int_equal(k8s_lines_feed(&l, big, strlen(big), collect, &c), -1);
	k8s_lines_free(&l);
	k8s_lines_init(&l, 1024);
	assert_int_equal(k8s_lines_feed(&l, big, 1000, collect, &c), 0);
	assert_int_equal(k8s_lines_pending(&l), 1000);
	assert_int_equal(k8s_lines_feed(&l, big + 1000, 1000, collect, &c), -1);
	assert_int_equal(c.n, 0);
	k8s_lines_free(&l);
	/* exactly max is fine */
	k8s_lines_init(&l, 1024);
	assert_int_equal(k8s_lines_feed(&l, big, 1024, collect, &c), 0);
	assert_int_equal(k8s_lines_feed(&l, "\n", 1, collect, &c), 0);
	assert_int_equal(c.n, 1);
	k8s_lines_free(&l);
	/* the callback stops the feed */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	k8s_lines_init(&l, 0);
	assert_int_equal(k8s_lines_feed(&l, "a\nb\nc\n", 6, collect, &c), -1);
	assert_int_equal(c.n, 2);
	k8s_lines_free(&l);
}

static void parse_ok(const char *json, const struct k8s_port_sel *sel, struct k8s_event *ev)
{
	char err[256] = "";
	int rc = k8s_parse_event(json, strlen(json), sel, ev, err, sizeof(err));

	if (rc != 0)
		fail_msg("k8s_parse_event failed: %s\n%s", err, json);
}

static void parse_fails(const char *json, const char *words)
{
	struct k8s_port_sel sel = { .port_name = "http" };
	struct k8s_event ev;
	char err[256] = "";

	assert_int_equal(k8s_parse_event(json, strlen(json), &sel, &ev, err, sizeof(err)), -1);
	if (!strstr(err, words))
		fail_msg("error '%s' does not say '%s'", err, words);
}

static const struct k8s_endpoint *find_ep(const struct k8s_slice *s, const char *ip)
{
	size_t i;

	for (i = 0; i < s->neps; i++)
		if (!strcmp(s->eps[i].ip, ip))
			return &s->eps[i];
	return NULL;
}

static void test_event_added(void **state)
{
	struct k8s_port_sel sel = { .port_name = "http" };
	struct k8s_event ev;
	const struct k8s_endpoint *e;

	parse_ok("{\"type\":\"ADDED\",\"object\":" SLICE("flask-abc", "42", "IPv4",
		 "[{\"name\":\"metrics\",\"port\":9100},{\"name\":\"http\",\"port\":8000}]",
		 "[" EP("10.0.0.1", "web-1", "{\"ready\":true,\"serving\":true,\"terminating\":false}") ","
		     EP("10.0.0.2", "web-2", "{\"ready\":false,\"serving\":true,\"terminating\":true}") ","
		     EP("10.0.0.3", "web-3", "{\"ready\":false}") ","
		     EP("10.0.0.4", "Bad Name!", "{}") ","
		     EP("fd00::1", "web-6", "{}") ","
		     "{\"addresses\":[],\"conditions\":{}}" "]") "}\n", &sel, &ev);
	assert_int_equal(ev.type, K8S_EV_ADDED);
	assert_string_equal(ev.rv, "42");
	assert_string_equal(ev.slice.name, "flask-abc");
	assert_int_equal(ev.slice.neps, 4);
	assert_int_equal(ev.slice.skipped, 2);  /* an IPv6 address in an IPv4 slice, no address */
	e = find_ep(&ev.slice, "10.0.0.1");
	assert_non_null(e);
	assert_string_equal(e->name, "web-1");
	assert_int_equal(e->port, 8000);
	assert_int_equal(e->state, K8S_EP_ACTIVE);
	assert_int_equal(find_ep(&ev.slice, "10.0.0.2")->state, K8S_EP_DRAINING);
	assert_int_equal(find_ep(&ev.slice, "10.0.0.3")->state, K8S_EP_GONE);
	/* a pod name outside the backend name rule: the name comes from the address */
	assert_string_equal(find_ep(&ev.slice, "10.0.0.4")->name, "ep-10.0.0.4-8000");
	assert_int_equal(find_ep(&ev.slice, "10.0.0.4")->state, K8S_EP_ACTIVE);
	k8s_event_clear(&ev);

	/* IPv6 slices */
	parse_ok("{\"type\":\"MODIFIED\",\"object\":" SLICE("flask-v6", "43", "IPv6", HTTP_PORT,
		 "[" EP("fd00::7", "web-7", "{\"ready\":true}") "]") "}", &sel, &ev);
	assert_int_equal(ev.type, K8S_EV_MODIFIED);
	assert_int_equal(ev.slice.neps, 1);
	assert_string_equal(ev.slice.eps[0].ip, "fd00::7");
	k8s_event_clear(&ev);
}

static void test_event_bookmark_error_deleted(void **state)
{
	struct k8s_port_sel sel = { .port_name = "http" };
	struct k8s_event ev;

	parse_ok("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":"
		 "{\"resourceVersion\":\"12345\"}}}", &sel, &ev);
	assert_int_equal(ev.type, K8S_EV_BOOKMARK);
	assert_string_equal(ev.rv, "12345");
	k8s_event_clear(&ev);

	parse_ok("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":"
		 "\"Expired\",\"message\":\"too old resource version: 1 (5)\"}}", &sel, &ev);
	assert_int_equal(ev.type, K8S_EV_ERROR);
	assert_int_equal(ev.code, 410);
	assert_string_equal(ev.message, "too old resource version: 1 (5)");
	k8s_event_clear(&ev);

	parse_ok("{\"type\":\"DELETED\",\"object\":" SLICE("flask-abc", "50", "IPv4", HTTP_PORT,
		 "[" EP("10.0.0.1", "web-1", "{}") "]") "}", &sel, &ev);
	assert_int_equal(ev.type, K8S_EV_DELETED);
	assert_string_equal(ev.slice.name, "flask-abc");
	assert_string_equal(ev.rv, "50");
	k8s_event_clear(&ev);
}

static void test_event_bad(void **state)
{
	parse_fails("{\"type\":\"ADDED\"", "not JSON");
	parse_fails("[1,2]", "without type and object");
	parse_fails("{\"type\":\"ADDED\",\"object\":[]}", "without type and object");
	parse_fails("{\"type\":\"RENAMED\",\"object\":{}}", "unknown type");
	parse_fails("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}",
		    "resourceVersion");
	parse_fails("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}",
		    "metadata.name");
	parse_fails("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
		    "\"1111111111111111111111111111111111111111111111111111111111111111111\"}}}",
		    "resourceVersion");
}

static void test_port_selection(void **state)
{
	const char *two = SLICE("s", "1", "IPv4",
				"[{\"name\":\"http\",\"port\":8000},{\"name\":\"admin\",\"port\":9000,\"protocol\":\"TCP\"},"
				"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]",
				"[" EP("10.1.0.1", "p", "{}") "]");
	const char *one = SLICE("s", "1", "IPv4", "[{\"port\":8080}]", "[" EP("10.1.0.1", "p", "{}") "]");
	const char *none = SLICE("s", "1", "IPv4", "null", "[" EP("10.1.0.1", "p", "{}") "]");
	const char *fqdn = SLICE("s", "1", "FQDN", HTTP_PORT, "[" EP("web.example", "p", "{}") "]");
	struct k8s_port_sel by_name = { .port_name = "admin" }, by_num = { .port = 8000 };
	struct k8s_port_sel only = { 0 }, udp = { .port = 53 }, missing = { .port_name = "grpc" };
	struct k8s_slice *s;
	size_t n;
	char rv[K8S_RV_MAX], err[256], list[4096];

#define PORT_OF(slice, sel, want) do {                                                          \
		snprintf(list, sizeof(list), "{\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[%s]}", \
			 slice);                                                                \
		assert_int_equal(k8s_parse_list(list, strlen(list), &(sel), &s, &n, rv, err,     \
						sizeof(err)), 0);                                       \
		assert_int_equal(n, 1);                                                         \
		if (want) {                                                                     \
			assert_int_equal(s[0].neps, 1);                                         \
			assert_int_equal(s[0].eps[0].port, (want));                             \
		} else {                                                                        \
			assert_int_equal(s[0].neps, 0);                                         \
			assert_int_equal(s[0].skipped, 1);                                      \
		}                                                                               \
		k8s_slices_free(s, n);                                                          \
	} while (0)
	PORT_OF(two, by_name, 9000);
	PORT_OF(two, by_num, 8000);
	PORT_OF(two, only, 0);        /* two TCP ports and no choice: left out */
	PORT_OF(two, udp, 0);         /* not TCP */
	PORT_OF(two, missing, 0);
	PORT_OF(one, only, 8080);
	PORT_OF(one, by_num, 0);      /* the slice has no port 8000 */
	PORT_OF(none, by_num, 8000);  /* no ports listed: only a number can say which */
	PORT_OF(none, only, 0);
	PORT_OF(fqdn, by_num, 0);     /* names would need resolving on the control loop */
#undef PORT_OF
}

static void test_list(void **state)
{
	struct k8s_port_sel sel = { .port = 8000 };
	struct k8s_slice *s;
	size_t n;
	char rv[K8S_RV_MAX], err[256];
	const char *good = "{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"777\"},"
			   "\"items\":[" SLICE("a", "700", "IPv4", HTTP_PORT, "[" EP("10.0.0.1", "p1", "{}") "]") ","
			   SLICE("b", "701", "IPv4", HTTP_PORT, "[]") "]}";
	const char *empty = "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":null}";

	assert_int_equal(k8s_parse_list(good, strlen(good), &sel, &s, &n, rv, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rv, "777");
	assert_string_equal(s[0].name, "a");
	assert_string_equal(s[0].rv, "700");
	assert_int_equal(s[0].neps, 1);
	assert_int_equal(s[1].neps, 0);
	k8s_slices_free(s, n);

	assert_int_equal(k8s_parse_list(empty, strlen(empty), &sel, &s, &n, rv, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(s);
	assert_string_equal(rv, "5");

	assert_int_equal(k8s_parse_list("{\"items\":[]}", 12, &sel, &s, &n, rv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "resourceVersion"));
	assert_int_equal(k8s_parse_list("nope", 4, &sel, &s, &n, rv, err, sizeof(err)), -1);
	assert_int_equal(k8s_parse_list("{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{}]}", 49,
					&sel, &s, &n, rv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metadata.name"));
}

static void test_reduce(void **state)
{
	struct k8s_endpoint a[3] = {
		{ "web-2", "10.0.0.2", 8000, K8S_EP_ACTIVE, AF_INET, 1 },
		{ "web-1", "10.0.0.1", 8000, K8S_EP_DRAINING, AF_INET, 1 },
		{ "web-3", "10.0.0.3", 8000, K8S_EP_GONE, AF_INET, 1 },
	};
	struct k8s_endpoint b[3] = {
		{ "web-1", "10.0.0.1", 8000, K8S_EP_ACTIVE, AF_INET, 1 },    /* the same pod in a second slice */
		{ "web-3", "10.0.0.3", 8000, K8S_EP_DRAINING, AF_INET, 1 },
		{ "web-9", "10.0.0.1", 9000, K8S_EP_ACTIVE, AF_INET, 1 },    /* same address, other port */
	};
	struct k8s_slice slices[3] = {
		{ .name = "s1", .eps = a, .neps = 3 },
		{ .name = "s2", .eps = b, .neps = 3 },
		{ .name = "s3", .eps = NULL, .neps = 0 },
	};
	struct k8s_endpoint *out;
	ssize_t n = k8s_reduce(slices, 3, K8S_FAMILY_IPV4, &out);

	assert_int_equal(n, 4);
	assert_string_equal(out[0].ip, "10.0.0.1");
	assert_int_equal(out[0].port, 8000);
	assert_int_equal(out[0].state, K8S_EP_ACTIVE);     /* the better state wins */
	assert_string_equal(out[0].name, "web-1");
	assert_int_equal(out[1].port, 9000);
	assert_string_equal(out[2].ip, "10.0.0.2");
	assert_string_equal(out[3].ip, "10.0.0.3");
	assert_int_equal(out[3].state, K8S_EP_DRAINING);
	free(out);

	assert_int_equal(k8s_reduce(slices + 2, 1, K8S_FAMILY_IPV4, &out), 0);
	assert_null(out);
	assert_int_equal(k8s_reduce(NULL, 0, K8S_FAMILY_IPV4, &out), 0);
}

/* A dual-stack Service: an IPv4 and an IPv6 slice carry the same pods. One pod is one
 * backend, on the family asked for (by name, as parsed from the slices' JSON). */
static void test_reduce_dual_stack(void **state)
{
	struct k8s_port_sel sel = { .port = 8000 };
	const char *list =
		"{\"metadata\":{\"resourceVersion\":\"9\"},\"items\":["
		SLICE("v4", "1", "IPv4", HTTP_PORT, "[" EP("10.0.0.1", "web-a", "{}") ","
		      EP("10.0.0.2", "web-b", "{\"ready\":false,\"serving\":true,\"terminating\":true}") ","
		      EP("10.0.0.3", "web-c", "{}") ","
		      "{\"addresses\":[\"10.0.0.9\"],\"conditions\":{}}" "]") ","
		SLICE("v6", "2", "IPv6", HTTP_PORT, "[" EP("fd00::1", "web-a", "{}") ","
		      EP("fd00::2", "web-b", "{}") "," EP("fd00::4", "web-d", "{}") ","
		      "{\"addresses\":[\"fd00::9\"],\"conditions\":{}}" "]") "]}";
	struct k8s_slice *s;
	struct k8s_endpoint *out;
	size_t n;
	ssize_t m;
	char rv[K8S_RV_MAX], err[256];

	assert_int_equal(k8s_parse_list(list, strlen(list), &sel, &s, &n, rv, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].eps[0].family, AF_INET);
	assert_int_equal(s[0].eps[0].by_pod, 1);
	assert_int_equal(s[0].eps[3].by_pod, 0);
	assert_int_equal(s[1].eps[0].family, AF_INET6);

	/* ipv4 (the default): web-a and web-b on IPv4, web-c (IPv4 only) and web-d (IPv6
	 * only) on what they have; endpoints without a pod are not paired */
	m = k8s_reduce(s, n, K8S_FAMILY_IPV4, &out);
	assert_int_equal(m, 6);
	assert_string_equal(out[0].ip, "10.0.0.1");
	assert_string_equal(out[0].name, "web-a");
	assert_string_equal(out[1].ip, "10.0.0.2");
	assert_int_equal(out[1].state, K8S_EP_DRAINING);
	assert_string_equal(out[2].ip, "10.0.0.3");
	assert_string_equal(out[3].ip, "10.0.0.9");
	assert_string_equal(out[4].ip, "fd00::4");
	assert_string_equal(out[4].name, "web-d");
	assert_string_equal(out[5].ip, "fd00::9");
	free(out);

	/* ipv6 */
	m = k8s_reduce(s, n, K8S_FAMILY_IPV6, &out);
	assert_int_equal(m, 6);
	assert_string_equal(out[0].ip, "10.0.0.3");
	assert_string_equal(out[1].ip, "10.0.0.9");
	assert_string_equal(out[2].ip, "fd00::1");
	assert_string_equal(out[3].ip, "fd00::2");
	assert_int_equal(out[3].state, K8S_EP_ACTIVE);
	assert_string_equal(out[4].ip, "fd00::4");
	free(out);

	/* any: the better state (web-b is ready on IPv6 only), IPv4 on a tie */
	m = k8s_reduce(s, n, K8S_FAMILY_ANY, &out);
	assert_int_equal(m, 6);
	assert_string_equal(out[0].ip, "10.0.0.1");
	assert_string_equal(out[1].ip, "10.0.0.3");
	assert_string_equal(out[2].ip, "10.0.0.9");
	assert_string_equal(out[3].ip, "fd00::2");
	assert_string_equal(out[3].name, "web-b");
	free(out);
	k8s_slices_free(s, n);
}

static void test_fallback_name(void **state)
{
	char name[K8S_NAME_MAX];

	k8s_endpoint_fallback_name("fd00::1:2", 8000, name);
	assert_string_equal(name, "ep-fd00--1-2-8000");
	assert_int_equal(config_check_name(name, NULL, 0), 0);
	k8s_endpoint_fallback_name("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535, name);
	assert_int_equal(config_check_name(name, NULL, 0), 0);
}

static void test_config_keys(void **state)
{
	static const char head[] =
		"listeners = ( { name = \"w\"; bind = \"127.0.0.1:18080\"; pool = \"p\"; } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", head,
		 "pools = ( { name = \"p\";\n"
		 "  discovery = { kubernetes = { service = \"flask\"; port = 8000; }; }; } );\n");
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_non_null(cfg);
	assert_non_null(cfg->pools[0].discovery.kubernetes);
	assert_string_equal(cfg->pools[0].discovery.kubernetes->service, "flask");
	assert_int_equal(cfg->pools[0].discovery.kubernetes->port, 8000);
	assert_null(cfg->pools[0].discovery.kubernetes->namespace);
	assert_string_equal(cfg->pools[0].discovery.kubernetes->sa_dir,
			    "/var/run/secrets/kubernetes.io/serviceaccount");
	assert_int_equal(cfg->pools[0].discovery.kubernetes->batch_ms, 100);
	assert_int_equal(cfg->pools[0].discovery.kubernetes->address_family, K8S_FAMILY_IPV4);
	assert_int_equal(cfg->pools[0].discovery.kubernetes->watch_idle_timeout_s, 30);
	assert_int_equal(cfg->pools[0].allow_empty, 0);
	assert_int_equal(cfg->pools[0].nbackends, 0);
	{
		/* a copy carries the group (the control plane edits copies) */
		struct config *dup = config_dup(cfg);

		assert_non_null(dup);
		assert_string_equal(dup->pools[0].discovery.kubernetes->service, "flask");
		assert_ptr_not_equal(dup->pools[0].discovery.kubernetes, cfg->pools[0].discovery.kubernetes);
		config_free(dup);
	}
	config_free(cfg);
	/* no discovery: absent */
	snprintf(text, sizeof(text), "%spools = ( { name = \"p\"; } );\n", head);
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_non_null(cfg);
	assert_null(cfg->pools[0].discovery.kubernetes);
	config_free(cfg);

	/* errors name file, line and key, and the whole file is refused */
	snprintf(text, sizeof(text), "%s%s", head,
		 "pools = ( { name = \"p\";\n"
		 "  discovery = { kubernetes = {\n"
		 "    service = \"Flask_App\";\n"
		 "    api_server = \"http://10.0.0.1:443\";\n"
		 "    port = 8000; port_name = \"http\";\n"
		 "    weight = 5000; }; }; } );\n");
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_null(cfg);
	assert_int_equal(errs.count, 4);
	assert_string_equal(errs.items[0].key, "pools.p.discovery.kubernetes.service");
	assert_int_equal(errs.items[0].line, 4);
	assert_string_equal(errs.items[1].key, "pools.p.discovery.kubernetes.api_server");
	assert_non_null(strstr(errs.items[1].message, "https://"));
	assert_string_equal(errs.items[2].key, "pools.p.discovery.kubernetes.port_name");
	assert_non_null(strstr(errs.items[2].message, "not both"));
	assert_int_equal(errs.items[2].line, 6);
	assert_string_equal(errs.items[3].key, "pools.p.discovery.kubernetes.weight");
	config_errors_clear(&errs);

	/* address_family and watch_idle_timeout_s: known values only */
	snprintf(text, sizeof(text), "%s%s", head,
		 "pools = ( { name = \"p\"; allow_empty = true;\n"
		 "  discovery = { kubernetes = { service = \"flask\"; address_family = \"ipv6\";\n"
		 "    watch_idle_timeout_s = 3; }; }; } );\n");
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->pools[0].allow_empty, 1);
	assert_int_equal(cfg->pools[0].discovery.kubernetes->address_family, K8S_FAMILY_IPV6);
	assert_int_equal(cfg->pools[0].discovery.kubernetes->watch_idle_timeout_s, 3);
	config_free(cfg);
	snprintf(text, sizeof(text), "%s%s", head,
		 "pools = ( { name = \"p\";\n"
		 "  discovery = { kubernetes = { service = \"flask\"; address_family = \"both\";\n"
		 "    watch_idle_timeout_s = 0; }; }; } );\n");
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_null(cfg);
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.items[0].key, "pools.p.discovery.kubernetes.address_family");
	assert_int_equal(errs.items[0].line, 3);
	assert_string_equal(errs.items[1].key, "pools.p.discovery.kubernetes.watch_idle_timeout_s");
	config_errors_clear(&errs);

	/* service is required */
	snprintf(text, sizeof(text), "%s%s", head,
		 "pools = ( { name = \"p\"; discovery = { kubernetes = { port = 80; }; }; } );\n");
	cfg = config_load_string(text, "t.cfg", &errs);
	assert_null(cfg);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].key, "pools.p.discovery.kubernetes.service");
	config_errors_clear(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_mapping),
		cmocka_unit_test(test_lines_every_split),
		cmocka_unit_test(test_lines_bounds_and_stop),
		cmocka_unit_test(test_event_added),
		cmocka_unit_test(test_event_bookmark_error_deleted),
		cmocka_unit_test(test_event_bad),
		cmocka_unit_test(test_port_selection),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_reduce),
		cmocka_unit_test(test_fallback_name),
		cmocka_unit_test(test_reduce_dual_stack),
		cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
