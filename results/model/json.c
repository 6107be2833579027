/*
 * The strict JSON reader; see json.h.
 *
 * One recursive-descent pass builds the values in one growing array and
 * links them by index (the array moves while it grows); a last pass turns
 * the indices into pointers. Decoded strings go to one arena sized by the
 * input, which no string can outgrow, so no string allocation can fail
 * half way. Every read of the input checks the end first.
 */
#include "json.h"

#include "common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_LINK UINT32_MAX
#define MAX_NUMBER_LENGTH 400

struct link {
	uint32_t first, last, next;
};

struct json_doc {
	char *input;            /* NUL-terminated copy; numbers point into it */
	char *strings;          /* the decoded strings and keys */
	struct json *values;    /* values[0] is the root */
};

struct parser {
	const char *name;
	const char *p, *end;
	const char *line_start;
	unsigned line;
	char *strings;
	size_t used, capacity;
	struct json *values;
	struct link *links;
	size_t n, allocated;
	char *err;
	size_t errlen;
};

/* Characters, not bytes, from the start of the line: UTF-8 continuation
 * bytes do not start a character. */
static unsigned column_of(const struct parser *P, const char *at)
{
	const char *q;
	unsigned column = 1;

	for (q = P->line_start; q < at; q++)
		if (((unsigned char)*q & 0xC0) != 0x80)
			column++;
	return column;
}

static int fail_where(struct parser *P, unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_where(struct parser *P, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;
	int used;

	used = snprintf(P->err, P->errlen, "%s: line %u column %u: ", P->name, line, column);
	if (used >= 0 && (size_t)used < P->errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(P->err + used, P->errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#define fail_at(P, at, ...) fail_where((P), (P)->line, column_of((P), (at)), __VA_ARGS__)

/* What is at q, for a message: 'x', byte 0xNN or the end of the input. */
static const char *describe(const struct parser *P, const char *q, char *buf, size_t size)
{
	unsigned char c;

	if (q >= P->end) {
		(void)snprintf(buf, size, "the end of the input");
		return buf;
	}
	c = (unsigned char)*q;
	if (c > 0x20 && c < 0x7f)
		(void)snprintf(buf, size, "'%c'", c);
	else
		(void)snprintf(buf, size, "byte 0x%02x", c);
	return buf;
}

static void skip_space(struct parser *P)
{
	while (P->p < P->end) {
		char c = *P->p;
		if (c == '\n') {
			P->line++;
			P->line_start = P->p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		P->p++;
	}
}

/* A new value of type at P->p; its index, or -1 past JSON_MAX_VALUES. */
static long new_value(struct parser *P, enum json_type type)
{
	struct json *v;

	if (P->n >= JSON_MAX_VALUES)
		return fail_at(P, P->p, "more than %u values", JSON_MAX_VALUES);
	if (P->n == P->allocated) {
		P->allocated = P->allocated ? 2 * P->allocated : 64;
		P->values = xrealloc(P->values, P->allocated * sizeof(*P->values));
		P->links = xrealloc(P->links, P->allocated * sizeof(*P->links));
	}
	v = &P->values[P->n];
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->line = P->line;
	v->column = column_of(P, P->p);
	P->links[P->n].first = P->links[P->n].last = P->links[P->n].next = NO_LINK;
	return (long)P->n++;
}

static void append_child(struct parser *P, long parent, long child)
{
	struct link *pl = &P->links[parent];

	if (pl->first == NO_LINK)
		pl->first = (uint32_t)child;
	else
		P->links[pl->last].next = (uint32_t)child;
	pl->last = (uint32_t)child;
	P->values[parent].count++;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u" at q; the code unit or -1. */
static long read_hex4(const struct parser *P, const char *q)
{
	long code = 0;
	int i, d;

	if (P->end - q < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		d = hex_digit(q[i]);
		if (d < 0)
			return -1;
		code = code * 16 + d;
	}
	return code;
}

static size_t put_utf8(char *out, unsigned long code)
{
	if (code < 0x80) {
		out[0] = (char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (char)(0xC0 | (code >> 6));
		out[1] = (char)(0x80 | (code & 0x3F));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (char)(0xE0 | (code >> 12));
		out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
		out[2] = (char)(0x80 | (code & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (code >> 18));
	out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
	out[3] = (char)(0x80 | (code & 0x3F));
	return 4;
}

/*
 * The backslash escape at P->p (just after the backslash) into out; the
 * bytes written, or 0 on error. "\uD83D\uDE00" pairs are joined.
 */
static size_t read_escape(struct parser *P, char *out)
{
	static const char plain[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
	const char *at = P->p - 1, *hit;
	long code, low;

	if (P->p >= P->end) {
		(void)fail_at(P, at, "unterminated string");
		return 0;
	}
	hit = *P->p ? strchr(plain, *P->p) : NULL;
	if (hit) {
		*out = meaning[hit - plain];
		P->p++;
		return 1;
	}
	if (*P->p != 'u') {
		char what[32];
		(void)fail_at(P, at, "invalid escape '\\' followed by %s",
			      describe(P, P->p, what, sizeof(what)));
		return 0;
	}
	code = read_hex4(P, P->p + 1);
	if (code < 0) {
		(void)fail_at(P, at, "\\u needs four hex digits");
		return 0;
	}
	P->p += 5;
	if (code >= 0xD800 && code <= 0xDBFF) {
		low = P->end - P->p >= 2 && P->p[0] == '\\' && P->p[1] == 'u'
			      ? read_hex4(P, P->p + 2) : -1;
		if (low < 0xDC00 || low > 0xDFFF) {
			(void)fail_at(P, at, "unpaired surrogate \\u%04lX", (unsigned long)code);
			return 0;
		}
		P->p += 6;
		code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
	} else if (code >= 0xDC00 && code <= 0xDFFF) {
		(void)fail_at(P, at, "unpaired surrogate \\u%04lX", (unsigned long)code);
		return 0;
	} else if (code == 0) {
		(void)fail_at(P, at, "\\u0000 is not allowed in a string");
		return 0;
	}
	return put_utf8(out, (unsigned long)code);
}

/* The length of the well-formed UTF-8 sequence at q (lead byte >= 0x80),
 * or 0: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_length(const struct parser *P, const char *q)
{
	const unsigned char *u = (const unsigned char *)q;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		n = 2;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF)
		n = 3;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if ((size_t)(P->end - q) < n)
		return 0;
	if (u[0] == 0xE0)
		lo = 0xA0;
	else if (u[0] == 0xED)
		hi = 0x9F;
	else if (u[0] == 0xF0)
		lo = 0x90;
	else if (u[0] == 0xF4)
		hi = 0x8F;
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xBF)
			return 0;
	return n;
}

/*
 * The string at P->p (on its opening quote), decoded into the arena.
 * No step writes more bytes than it consumes (an escape shrinks, UTF-8 is
 * copied), and every string before this one took no more than its quoted
 * form, so the write position stays behind the read position and the
 * arena, one byte larger than the input, always has room.
 */
static int read_string(struct parser *P, const char **text, size_t *length)
{
	const char *start = P->p;
	char *out = P->strings + P->used;
	size_t k = 0, step;
	unsigned char c;
	int rc = 1;

	P->p++;
	while (rc > 0) {
		if (P->p >= P->end)
			return fail_at(P, start, "unterminated string");
		c = (unsigned char)*P->p;
		if (c == '"') {
			P->p++;
			rc = 0;
		} else if (c == '\\') {
			P->p++;
			step = read_escape(P, out + k);
			if (step == 0)
				return -1;
			k += step;
		} else if (c < 0x20) {
			return fail_at(P, P->p, "control character 0x%02x in a string (escape it)", c);
		} else if (c < 0x80) {
			out[k++] = (char)c;
			P->p++;
		} else {
			step = utf8_length(P, P->p);
			if (step == 0)
				return fail_at(P, P->p, "invalid UTF-8 in a string");
			memcpy(out + k, P->p, step);
			k += step;
			P->p += step;
		}
	}
	out[k] = '\0';
	*text = out;
	*length = k;
	P->used += k + 1;
	return 0;
}

static int is_digit(const struct parser *P, const char *q)
{
	return q < P->end && *q >= '0' && *q <= '9';
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static long read_number(struct parser *P)
{
	const char *start = P->p, *q = P->p;
	long ix;

	if (q < P->end && *q == '-')
		q++;
	if (!is_digit(P, q))
		return fail_at(P, start, "invalid number: a digit must follow '-'");
	if (*q == '0' && is_digit(P, q + 1))
		return fail_at(P, start, "invalid number: leading zeros are not allowed");
	while (is_digit(P, q))
		q++;
	if (q < P->end && *q == '.') {
		if (!is_digit(P, ++q))
			return fail_at(P, start, "invalid number: a digit must follow '.'");
		while (is_digit(P, q))
			q++;
	}
	if (q < P->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < P->end && (*q == '+' || *q == '-'))
			q++;
		if (!is_digit(P, q))
			return fail_at(P, start, "invalid number: the exponent has no digits");
		while (is_digit(P, q))
			q++;
	}
	if (q - start > MAX_NUMBER_LENGTH)
		return fail_at(P, start, "number longer than %d characters", MAX_NUMBER_LENGTH);
	ix = new_value(P, JSON_NUMBER);
	if (ix >= 0) {
		P->values[ix].text = start;
		P->values[ix].length = (size_t)(q - start);
		P->p = q;
	}
	return ix;
}

static long read_literal(struct parser *P)
{
	static const struct { const char *word; enum json_type type; int value; } words[] = {
		{ "true", JSON_BOOL, 1 }, { "false", JSON_BOOL, 0 }, { "null", JSON_NULL, 0 },
	};
	size_t i, n, left = (size_t)(P->end - P->p);
	long ix = -2;

	for (i = 0; i < sizeof(words) / sizeof(words[0]) && ix == -2; i++) {
		n = strlen(words[i].word);
		if (left >= n && memcmp(P->p, words[i].word, n) == 0) {
			ix = new_value(P, words[i].type);
			if (ix >= 0) {
				P->values[ix].boolean = words[i].value;
				P->p += n;
			}
		}
	}
	if (ix == -2)
		ix = fail_at(P, P->p, "invalid literal (expected true, false or null)");
	return ix;
}

static long read_value(struct parser *P, int depth);

static long read_array(struct parser *P, int depth)
{
	char what[32];
	long ix = new_value(P, JSON_ARRAY), item;

	if (ix < 0)
		return -1;
	P->p++;
	skip_space(P);
	if (P->p < P->end && *P->p == ']') {
		P->p++;
		return ix;
	}
	for (;;) {
		item = read_value(P, depth + 1);
		if (item < 0)
			return -1;
		append_child(P, ix, item);
		skip_space(P);
		if (P->p < P->end && *P->p == ']')
			break;
		if (P->p >= P->end || *P->p != ',')
			return fail_at(P, P->p, "expected ',' or ']' after an array item, found %s",
				       describe(P, P->p, what, sizeof(what)));
		P->p++;
		skip_space(P);
		if (P->p < P->end && *P->p == ']')
			return fail_at(P, P->p, "trailing comma before ']'");
	}
	P->p++;
	return ix;
}

struct key_ref {
	const char *key;
	uint32_t ix;
};

static int compare_keys(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->ix > y->ix) - (x->ix < y->ix);
}

/* Sorting the names finds a repeated one in n log n, whatever the input. */
static int check_duplicates(struct parser *P, long object)
{
	size_t n = P->values[object].count, i = 0;
	struct key_ref *refs;
	uint32_t m;
	int rc = 0;

	if (n < 2)
		return 0;
	refs = xmalloc(n * sizeof(*refs));
	for (m = P->links[object].first; m != NO_LINK; m = P->links[m].next) {
		refs[i].key = P->values[m].key;
		refs[i++].ix = m;
	}
	qsort(refs, n, sizeof(*refs), compare_keys);
	for (i = 1; i < n && rc == 0; i++)
		if (strcmp(refs[i - 1].key, refs[i].key) == 0)
			rc = fail_where(P, P->values[refs[i].ix].line, P->values[refs[i].ix].column,
					"duplicate key '%.60s'", refs[i].key);
	free(refs);
	return rc;
}

static long read_object(struct parser *P, int depth)
{
	char what[32];
	const char *key;
	size_t key_length;
	long ix = new_value(P, JSON_OBJECT), member;

	if (ix < 0)
		return -1;
	P->p++;
	skip_space(P);
	if (P->p < P->end && *P->p == '}') {
		P->p++;
		return ix;
	}
	for (;;) {
		if (P->p >= P->end || *P->p != '"')
			return fail_at(P, P->p, "expected a string key, found %s",
				       describe(P, P->p, what, sizeof(what)));
		if (read_string(P, &key, &key_length) < 0)
			return -1;
		skip_space(P);
		if (P->p >= P->end || *P->p != ':')
			return fail_at(P, P->p, "expected ':' after the key '%.60s', found %s", key,
				       describe(P, P->p, what, sizeof(what)));
		P->p++;
		member = read_value(P, depth + 1);
		if (member < 0)
			return -1;
		P->values[member].key = key;
		append_child(P, ix, member);
		skip_space(P);
		if (P->p < P->end && *P->p == '}')
			break;
		if (P->p >= P->end || *P->p != ',')
			return fail_at(P, P->p, "expected ',' or '}' after a member, found %s",
				       describe(P, P->p, what, sizeof(what)));
		P->p++;
		skip_space(P);
		if (P->p < P->end && *P->p == '}')
			return fail_at(P, P->p, "trailing comma before '}'");
	}
	P->p++;
	return check_duplicates(P, ix) < 0 ? -1 : ix;
}

static long read_value(struct parser *P, int depth)
{
	char what[32];
	long ix;

	skip_space(P);
	if (P->p >= P->end)
		return fail_at(P, P->p, "unexpected end of input, expected a value");
	if ((*P->p == '[' || *P->p == '{') && depth >= JSON_MAX_DEPTH)
		return fail_at(P, P->p, "nested deeper than %d levels", JSON_MAX_DEPTH);
	switch (*P->p) {
	case '[': ix = read_array(P, depth); break;
	case '{': ix = read_object(P, depth); break;
	case '"':
		ix = new_value(P, JSON_STRING);
		if (ix >= 0 && read_string(P, &P->values[ix].text, &P->values[ix].length) < 0)
			ix = -1;
		break;
	case 't': case 'f': case 'n': ix = read_literal(P); break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		ix = read_number(P);
		break;
	default:
		ix = fail_at(P, P->p, "expected a value, found %s",
			     describe(P, P->p, what, sizeof(what)));
	}
	return ix;
}

/* Indices to pointers, once the array no longer moves. */
static void link_values(struct parser *P)
{
	size_t i;

	for (i = 0; i < P->n; i++) {
		P->values[i].first = P->links[i].first == NO_LINK ? NULL
								  : &P->values[P->links[i].first];
		P->values[i].next = P->links[i].next == NO_LINK ? NULL
								: &P->values[P->links[i].next];
	}
}

int json_parse(const char *name, const char *text, size_t len, struct json_doc **doc,
	       char *err, size_t errlen)
{
	struct parser P = { 0 };
	struct json_doc *d = xcalloc(1, sizeof(*d));
	char what[32];
	int rc = -1;

	P.name = name;
	P.err = err;
	P.errlen = errlen;
	P.line = 1;
	if (len > JSON_MAX_INPUT) {
		(void)snprintf(err, errlen, "'%s': larger than the %u MiB limit of a JSON file", name,
			       JSON_MAX_INPUT >> 20);
		goto out;
	}
	d->input = xmalloc(len + 1);
	memcpy(d->input, text, len);
	d->input[len] = '\0';
	P.p = P.line_start = d->input;
	P.end = d->input + len;
	P.capacity = len + 1;
	P.strings = d->strings = xmalloc(P.capacity);
	skip_space(&P);
	if (P.p == P.end) {
		(void)fail_at(&P, P.p, "no JSON value (the input is empty)");
		goto out;
	}
	if (read_value(&P, 0) < 0)
		goto out;
	skip_space(&P);
	if (P.p < P.end) {
		(void)fail_at(&P, P.p, "unexpected %s after the end of the document",
			      describe(&P, P.p, what, sizeof(what)));
		goto out;
	}
	link_values(&P);
	d->values = P.values;
	P.values = NULL;
	rc = 0;
out:
	free(P.values);
	free(P.links);
	if (rc == 0) {
		*doc = d;
	} else {
		json_free(d);
		*doc = NULL;
	}
	return rc;
}

int json_parse_file(const char *path, struct json_doc **doc, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int e = read_file(path, &text, &len), rc = -1;

	*doc = NULL;
	if (e < 0)
		(void)snprintf(err, errlen, "'%s': %s", path, read_file_error(e));
	else
		rc = json_parse(path, text, len, doc, err, errlen);
	free(text);
	return rc;
}

const struct json *json_root(const struct json_doc *doc)
{
	return doc ? &doc->values[0] : NULL;
}

void json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	free(doc->input);
	free(doc->strings);
	free(doc->values);
	free(doc);
}

const struct json *json_get(const struct json *object, const char *key)
{
	const struct json *m = NULL;

	if (object && object->type == JSON_OBJECT)
		for (m = object->first; m && strcmp(m->key, key) != 0; m = m->next)
			;
	return m;
}

const char *json_string(const struct json *v)
{
	return v && v->type == JSON_STRING ? v->text : NULL;
}

int json_u64(const struct json *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;
	unsigned d;

	if (!v || v->type != JSON_NUMBER || v->length == 0)
		return -1;
	for (i = 0; i < v->length; i++) {
		if (v->text[i] < '0' || v->text[i] > '9')
			return -1;
		d = (unsigned)(v->text[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

int json_double(const struct json *v, double *out)
{
	char buf[MAX_NUMBER_LENGTH + 1];
	double x;

	if (!v || v->type != JSON_NUMBER || v->length > MAX_NUMBER_LENGTH)
		return -1;
	memcpy(buf, v->text, v->length);
	buf[v->length] = '\0';
	x = strtod(buf, NULL);
	if (!isfinite(x))
		return -1;
	*out = x;
	return 0;
}

const char *json_type_name(enum json_type type)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_BOOL] = "a boolean", [JSON_NUMBER] = "a number",
		[JSON_STRING] = "a string", [JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object",
	};

	return (unsigned)type <= JSON_OBJECT ? names[type] : "?";
}
