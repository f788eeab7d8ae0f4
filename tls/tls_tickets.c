/* tls_tickets.c: session ticket keys: a ring per listener shared by every worker, either
 * generated and rotated on a schedule or read from ticket_key_file (several instances). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hex.h"
#include "tls.h"

static int fresh_key(struct tls_ticket_key *k, double created);

static int fresh_key(struct tls_ticket_key *k, double created)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -1;
	k->created = created;
	return 0;
}

int tls_keyring_init_auto(struct tls_keyring *r, double period, double now,
			  atomic_ulong *rotations)
{
	memset(r, 0, sizeof(*r));
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		return -1;
	r->period = period > 0 ? period : 1;
	r->rotations = rotations;
	if (fresh_key(&r->keys[0], now) == -1) {
		pthread_mutex_destroy(&r->lock);
		return -1;
	}
	r->n = 1;
	return 0;
}

int tls_keyring_init_fixed(struct tls_keyring *r, const struct tls_ticket_key *keys,
			   unsigned n)
{
	if (n == 0 || n > TLS_TICKET_KEYS_MAX)
		return -1;
	memset(r, 0, sizeof(*r));
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		return -1;
	r->fixed = 1;
	r->n = n;
	memcpy(r->keys, keys, n * sizeof(*keys));
	return 0;
}

void tls_keyring_destroy(struct tls_keyring *r)
{
	pthread_mutex_destroy(&r->lock);
	/* the keys decrypt every session they ever protected: leave nothing behind */
	OPENSSL_cleanse(r->keys, sizeof(r->keys));
}

void tls_keyring_set_period(struct tls_keyring *r, double period)
{
	pthread_mutex_lock(&r->lock);
	r->period = period > 0 ? period : 1;
	pthread_mutex_unlock(&r->lock);
}

int tls_keyring_advance(struct tls_keyring *r, double now)
{
	double elapsed;
	unsigned steps, i, keep;

	if (r->fixed)
		return 0;
	if (r->n == 0) {
		/* an earlier failure to get randomness left no key: try again */
		if (fresh_key(&r->keys[0], now) == -1)
			return -1;
		r->n = 1;
		return 0;
	}
	elapsed = now - r->keys[0].created;
	if (elapsed < r->period)
		return 0;
	if (elapsed >= r->period * TLS_TICKET_KEYS_AUTO) {
		/* idle for the whole life of every key: none of them may decrypt any more */
		OPENSSL_cleanse(r->keys, sizeof(r->keys));
		if (fresh_key(&r->keys[0], now) == -1) {
			r->n = 0;
			return -1;
		}
		r->n = 1;
		if (r->rotations)
			atomic_fetch_add(r->rotations, 1);
		return TLS_TICKET_KEYS_AUTO;
	}
	steps = (unsigned)(elapsed / r->period);
	keep = r->n + steps > TLS_TICKET_KEYS_AUTO ? TLS_TICKET_KEYS_AUTO - steps : r->n;
	memmove(&r->keys[steps], &r->keys[0], keep * sizeof(r->keys[0]));
	/* keys that fell off the end are wiped, not just forgotten */
	OPENSSL_cleanse(&r->keys[steps + keep],
			(TLS_TICKET_KEYS_MAX - steps - keep) * sizeof(r->keys[0]));
	/* keep the schedule aligned to when the ring started, not to when it was used;
	 * a key skipped while idle never encrypted anything but still fills its slot */
	for (i = 0; i < steps; i++)
		if (fresh_key(&r->keys[i], r->keys[steps].created + (steps - i) * r->period) == -1) {
			r->n = 0;
			return -1;
		}
	r->n = steps + keep;
	if (r->rotations)
		atomic_fetch_add(r->rotations, steps);
	return (int)steps;
}

int tls_keyring_encrypt_key(struct tls_keyring *r, double now, struct tls_ticket_key *out)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (tls_keyring_advance(r, now) == -1 || r->n == 0)
		rc = -1;
	else
		*out = r->keys[0];
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int tls_keyring_decrypt_key(struct tls_keyring *r, const unsigned char name[16], double now,
			    struct tls_ticket_key *out, int *renew)
{
	unsigned i;
	int rc = -1;

	pthread_mutex_lock(&r->lock);
	if (tls_keyring_advance(r, now) != -1) {
		for (i = 0; i < r->n; i++) {
			if (memcmp(r->keys[i].name, name, sizeof(r->keys[i].name)) != 0)
				continue;
			*out = r->keys[i];
			*renew = i > 0;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int tls_ticket_keys_parse(const char *text, size_t len, struct tls_ticket_key *keys,
			  unsigned max, char *err, size_t errlen)
{
	unsigned char raw[80];
	unsigned n = 0, line = 0, i, j;
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos, a, b;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		a = pos;
		b = end;
		pos = end + 1;
		while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		if (a == b || text[a] == '#')
			continue;
		if (b - a != 2 * sizeof(raw))
			return ERR("line %u: expected 160 hex digits (openssl rand -hex 80), got %zu characters",
				   line, b - a);
		for (i = 0; i < sizeof(raw); i++) {
			int hi = hex_digit_value((unsigned char)text[a + 2 * i]);
			int lo = hex_digit_value((unsigned char)text[a + 2 * i + 1]);

			if (hi < 0 || lo < 0)
				return ERR("line %u: not a hex digit at column %u", line,
					   (unsigned)(2 * i + (hi < 0 ? 1 : 2)));
			raw[i] = (unsigned char)(hi << 4 | lo);
		}
		if (n == max)
			return ERR("more than %u keys (line %u)", max, line);
		memcpy(keys[n].name, raw, 16);
		memcpy(keys[n].aes, raw + 16, 32);
		memcpy(keys[n].hmac, raw + 48, 32);
		keys[n].created = 0;
		for (j = 0; j < n; j++)
			if (memcmp(keys[j].name, keys[n].name, 16) == 0)
				return ERR("line %u: the key name (first 32 hex digits) repeats an earlier key",
					   line);
		n++;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	if (n == 0)
		return ERR("no key in the file (one line of 160 hex digits per key)");
	return (int)n;
}

#undef ERR
