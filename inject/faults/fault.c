/*
 * The fault registry and the spec parser; see fault.h. Parameters are
 * parsed from each fault's table into the fault's own typed fields,
 * defaults included (a default goes through the same parser as a given
 * value, so a bad default fails loudly in tests).
 *
 * This runs inside the user's process too (the preload library reads
 * PYCSTORM_FAULTS), so it never ends the process: an allocation that fails
 * is a parse that fails, with a message.
 */
#include "fault.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* P_CHOICE writes an int into an enum field. */
_Static_assert(sizeof(enum crash_model) == sizeof(int) && sizeof(enum crash_at) == sizeof(int) &&
		       sizeof(enum lock_share) == sizeof(int) &&
		       sizeof(enum delay_when) == sizeof(int) &&
		       sizeof(enum exact_do) == sizeof(int),
	       "a choice parameter's enum is an int");

#define X(id) &fault_##id,
REGISTRY_DEFINE(fault_info, fault, FAULT_LIST(X))
#undef X

const char *fault_point(const struct fault_spec *spec)
{
	return spec->info->point ? spec->info->point : spec->u.fiu.point;
}

/* "short-write, write-error, ...", into buf. */
static void fault_names(char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < fault_count && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
					 fault_table[i]->name);
}

/* The choice word[0..len) of prm, or NULL. */
static const struct fault_choice *find_choice(const struct fault_param *prm, const char *word,
					      size_t len)
{
	const struct fault_choice *c;

	for (c = prm->choices; c && c->word; c++)
		if (strlen(c->word) == len && strncmp(c->word, word, len) == 0)
			return c;
	return NULL;
}

void fault_choice_words(const struct fault_param *prm, char *buf, size_t size)
{
	const struct fault_choice *c;
	size_t used = 0;

	buf[0] = '\0';
	for (c = prm->choices; c && c->word && used < size; c++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 c == prm->choices ? "" : "|", c->word);
}

static const struct fault_param *find_param(const struct fault_info *info, const char *name,
					    size_t len)
{
	size_t i;

	for (i = 0; i < info->nparams; i++)
		if (strlen(info->params[i].name) == len &&
		    strncmp(info->params[i].name, name, len) == 0)
			return &info->params[i];
	return NULL;
}

int fault_choice_value(const struct fault_info *info, const char *param, const char *word)
{
	const struct fault_param *prm = find_param(info, param, strlen(param));
	const struct fault_choice *c = prm ? find_choice(prm, word, strlen(word)) : NULL;

	return c ? c->value : -1;
}

/* "5ms" (lo = hi) or "1ms..500ms" (lo <= hi). */
static int parse_range(const char *v, struct ns_range *r)
{
	const char *dots = strstr(v, "..");
	char first[64];
	size_t n;

	if (!dots)
		return parse_duration_ns(v, &r->lo) < 0 ? -1 : (r->hi = r->lo, 0);
	n = (size_t)(dots - v);
	if (n >= sizeof(first))
		return -1;
	memcpy(first, v, n);
	first[n] = '\0';
	return parse_duration_ns(first, &r->lo) < 0 || parse_duration_ns(dots + 2, &r->hi) < 0 ||
			       r->hi < r->lo ? -1 : 0;
}

/* "a|b": the values of the words or'ed; each word known, none empty
 * ("a|" and "a||b" are typos). */
static int parse_mask(const struct fault_param *prm, const char *v, unsigned *mask)
{
	const struct fault_choice *c;
	const char *p = v, *bar;
	size_t n;

	*mask = 0;
	for (;;) {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		c = find_choice(prm, p, n);
		if (!c)
			return -1;
		*mask |= (unsigned)c->value;
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

static int set_param(struct fault_spec *spec, const struct fault_param *prm,
		     const char *v, char *err, size_t errlen)
{
	char *field = (char *)spec + prm->offset, words[256];
	const struct fault_choice *c;
	double d;
	uint64_t u;
	int rc = 0;

	switch (prm->kind) {
	case P_PROB:
		rc = parse_double(v, &d) < 0 || d < 0 || d > 1 ? -1 : 0;
		if (!rc)
			*(double *)field = d;
		break;
	case P_FRACTION:
		if (!strcmp(v, "random"))
			d = -1;
		else
			rc = parse_double(v, &d) < 0 || d <= 0 || d >= 1 ? -1 : 0;
		if (!rc)
			*(double *)field = d;
		break;
	case P_RANGE:
		rc = parse_range(v, (struct ns_range *)field);
		break;
	case P_COUNT:
		rc = parse_u64(v, &u) < 0 || u < 1 || u > 1000000 ? -1 : 0;
		if (!rc)
			*(unsigned *)field = (unsigned)u;
		break;
	case P_CHOICE:
		c = find_choice(prm, v, strlen(v));
		rc = c ? 0 : -1;
		if (!rc)
			*(int *)field = c->value;
		break;
	case P_MASK:
		rc = parse_mask(prm, v, (unsigned *)field);
		break;
	case P_NAME:
		rc = !*v || strlen(v) >= FAULT_NAME_MAX ? -1 : 0;
		if (!rc)
			(void)snprintf(field, FAULT_NAME_MAX, "%s", v);
		break;
	}
	if (rc < 0) {
		static const char *const want[] = {
			"a probability from 0 to 1", "a fraction between 0 and 1, or random",
			"a duration (5ms) or a range (1ms..500ms)", "a whole number >= 1",
			"one of", "one or more of, joined by '|',", "a name",
		};
		fault_choice_words(prm, words, sizeof(words));
		(void)snprintf(err, errlen, "%s=%s: not %s%s%s", prm->name, v, want[prm->kind],
			       words[0] ? " " : "", words);
	}
	return rc;
}

static void param_names(const struct fault_info *info, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < info->nparams && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
					 info->params[i].name);
}

int fault_parse(const char *text, struct fault_spec *out, char *err, size_t errlen)
{
	char *copy = strdup(text), *colon, *item, *rest, *eq;
	char why[512], valid[256];
	const struct fault_param *prm;
	unsigned given = 0;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	(void)snprintf(out->text, sizeof(out->text), "%s", text);
	if (!copy) {
		(void)snprintf(err, errlen, "fault '%s': out of memory", text);
		return -1;
	}
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	out->info = fault_find(copy);
	if (!out->info) {
		fault_names(valid, sizeof(valid));
		(void)snprintf(err, errlen, "fault '%s': unknown fault '%s' (valid: %s)", text, copy,
			       valid);
		rc = -1;
		goto out;
	}
	/* Every KEY=VALUE once, none empty: "p=0.1,,p=0.5" is a typo. */
	for (rest = colon ? colon + 1 : NULL; rc == 0 && (item = strsep(&rest, ",")) != NULL;) {
		eq = strchr(item, '=');
		prm = find_param(out->info, item, eq ? (size_t)(eq - item) : strlen(item));
		rc = -1;
		if (!*item) {
			(void)snprintf(err, errlen, "fault '%s': an empty parameter", text);
		} else if (!eq || !prm) {
			param_names(out->info, valid, sizeof(valid));
			(void)snprintf(err, errlen, "fault '%s': %s '%s' (valid: %s)", text,
				       eq ? "unknown parameter" : "expected KEY=VALUE, got", item,
				       valid);
		} else if (given & (1u << (prm - out->info->params))) {
			(void)snprintf(err, errlen, "fault '%s': '%s' is given twice", text, prm->name);
		} else if (set_param(out, prm, eq + 1, why, sizeof(why)) < 0) {
			(void)snprintf(err, errlen, "fault '%s': %s", text, why);
		} else {
			given |= 1u << (prm - out->info->params);
			rc = 0;
		}
	}
	for (i = 0; i < out->info->nparams && rc == 0; i++) {
		prm = &out->info->params[i];
		if (given & (1u << i))
			continue;
		if (!prm->fallback) {
			(void)snprintf(err, errlen, "fault '%s': needs %s=...", text, prm->name);
			rc = -1;
		} else if (set_param(out, prm, prm->fallback, why, sizeof(why)) < 0) {
			(void)snprintf(err, errlen, "fault '%s': bad default: %s", text, why);
			rc = -1;
		}
	}
out:
	free(copy);
	return rc;
}

int fault_parse_list(const char *text, struct fault_spec *out, size_t max, char *err,
		     size_t errlen)
{
	char *copy = strdup(text), *item, *save = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (!copy) {
		(void)snprintf(err, errlen, "faults '%s': out of memory", text);
		return -1;
	}
	for (item = strtok_r(copy, ";", &save); item && rc == 0; item = strtok_r(NULL, ";", &save)) {
		if (n == max) {
			(void)snprintf(err, errlen, "more than %zu faults", max);
			rc = -1;
		} else if (fault_parse(item, &out[n], err, errlen) < 0) {
			rc = -1;
		} else {
			for (i = 0; i < n && rc == 0; i++)
				if (out[i].info == out[n].info) {
					(void)snprintf(err, errlen, "fault '%s' is given twice",
						       out[n].info->name);
					rc = -1;
				}
			n++;
		}
	}
	free(copy);
	return rc < 0 ? -1 : (int)n;
}
