/*
 * The fault registry and the spec parser; see fault.h. Parameters are
 * parsed from each fault's table, defaults included (a default goes through
 * the same parser as a given value, so a bad default fails loudly in tests).
 */
#include "fault.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct fault_info *const fault_table[] = {
#define X(id) &fault_##id,
	FAULT_LIST(X)
#undef X
};

const size_t fault_count = sizeof(fault_table) / sizeof(fault_table[0]);

const struct fault_info *fault_find(const char *name)
{
	const struct fault_info *found = NULL;
	size_t i;

	for (i = 0; i < fault_count && !found; i++)
		if (strcmp(fault_table[i]->name, name) == 0)
			found = fault_table[i];
	return found;
}

char *fault_names(void)
{
	char *list = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < fault_count; i++) {
		next = xasprintf("%s%s%s", list, i ? ", " : "", fault_table[i]->name);
		free(list);
		list = next;
	}
	return list;
}

int fault_errno_from_bit(unsigned bit)
{
	static const int errnos[] = { ENOSPC, EIO, EDQUOT };

	return bit < sizeof(errnos) / sizeof(errnos[0]) ? errnos[bit] : EIO;
}

/* Index of word in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word, size_t len)
{
	const char *p = choices, *bar;
	int i = 0;

	while (p && *p) {
		bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == len && strncmp(p, word, len) == 0)
			return i;
		p = bar ? bar + 1 : NULL;
		i++;
	}
	return -1;
}

static int parse_range(const char *v, uint64_t *lo, uint64_t *hi)
{
	const char *dots = strstr(v, "..");
	char *first;
	int rc;

	if (!dots)
		return parse_duration_ns(v, lo) < 0 ? -1 : (*hi = *lo, 0);
	first = xstrndup(v, (size_t)(dots - v));
	rc = parse_duration_ns(first, lo) < 0 || parse_duration_ns(dots + 2, hi) < 0 ||
			     *hi < *lo ? -1 : 0;
	free(first);
	return rc;
}

static int parse_mask(const char *choices, const char *v, unsigned *mask)
{
	const char *p = v, *bar;
	int i;

	*mask = 0;
	while (*p) {
		bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		i = choice_index(choices, p, n);
		if (i < 0)
			return -1;
		*mask |= 1u << i;
		p = bar ? bar + 1 : p + n;
	}
	return *mask ? 0 : -1;
}

static int set_param(struct fault_spec *spec, const struct fault_param *prm,
		     const char *v, char *err, size_t errlen)
{
	char *base = (char *)spec + prm->offset;
	double d;
	uint64_t u;
	int i, rc = 0;

	switch (prm->kind) {
	case P_PROB:
		rc = parse_double(v, &d) < 0 || d < 0 || d > 1 ? -1 : 0;
		if (!rc)
			*(double *)base = d;
		break;
	case P_FRACTION:
		if (!strcmp(v, "random"))
			d = -1;
		else
			rc = parse_double(v, &d) < 0 || d <= 0 || d >= 1 ? -1 : 0;
		if (!rc)
			*(double *)base = d;
		break;
	case P_RANGE:
		rc = parse_range(v, (uint64_t *)base, (uint64_t *)base + 1);
		break;
	case P_COUNT:
		rc = parse_u64(v, &u) < 0 || u < 1 || u > 1000000 ? -1 : 0;
		if (!rc)
			*(unsigned *)base = (unsigned)u;
		break;
	case P_CHOICE:
		i = choice_index(prm->choices, v, strlen(v));
		rc = i < 0 ? -1 : 0;
		if (!rc)
			*(int *)base = i;
		break;
	case P_MASK:
		rc = parse_mask(prm->choices, v, (unsigned *)base);
		break;
	case P_NAME:
		rc = !*v || strlen(v) >= sizeof(spec->name) ? -1 : 0;
		if (!rc)
			(void)snprintf(base, sizeof(spec->name), "%s", v);
		break;
	}
	if (rc < 0) {
		static const char *const want[] = {
			"a probability from 0 to 1", "a fraction between 0 and 1, or random",
			"a duration (5ms) or a range (1ms..500ms)", "a whole number >= 1",
			"one of", "one or more of, joined by '|',", "a name",
		};
		(void)snprintf(err, errlen, "%s=%s: not %s%s%s", prm->name, v, want[prm->kind],
			       prm->choices ? " " : "", prm->choices ? prm->choices : "");
	}
	return rc;
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
	char *copy = xstrdup(text), *colon = strchr(copy, ':'), *item, *rest, *eq;
	char why[256], valid[256], *names;
	const struct fault_param *prm;
	unsigned given = 0;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	(void)snprintf(out->text, sizeof(out->text), "%s", text);
	if (colon)
		*colon = '\0';
	out->info = fault_find(copy);
	if (!out->info) {
		names = fault_names();
		(void)snprintf(err, errlen, "fault '%s': unknown fault '%s' (valid: %s)", text, copy,
			       names);
		free(names);
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
	char *copy = xstrdup(text), *item, *save = NULL;
	size_t n = 0, i;
	int rc = 0;

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
