/*
 * A growing string, for text built piece by piece: lists joined with a
 * separator, command lines, specs. Appending is amortised O(1), where
 * xasprintf("%s...", cur) in a loop copies everything every time.
 *
 * Ownership: the strbuf owns buf until strbuf_detach hands it to the
 * caller; strbuf_release frees it. buf is always NUL-terminated once
 * anything was added; an untouched strbuf detaches to "".
 */
#ifndef PYCSTORM_STRBUF_H
#define PYCSTORM_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_add(struct strbuf *sb, const char *s);
void strbuf_addn(struct strbuf *sb, const char *s, size_t n);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* sep first unless sb is still empty, then s: one item of a joined list. */
void strbuf_add_item(struct strbuf *sb, const char *sep, const char *s);
/* w as a POSIX shell reads it back: bare when only safe characters, else
 * in single quotes (a quote inside written as '\''). */
void strbuf_add_shell_word(struct strbuf *sb, const char *w);
/* The text, malloc'd, now the caller's; sb is empty again. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/* items[0..n) joined with sep, malloc'd ("" for none). */
char *strbuf_join(const char *const *items, size_t n, const char *sep);

/* The names in a registry (an array of n pointers to structs that have a
 * .name: strategies, formats, commands), joined with sep into sb. */
#define STRBUF_ADD_NAMES(sb, table, n, sep)                                  \
	do {                                                                 \
		size_t i_;                                                   \
		for (i_ = 0; i_ < (size_t)(n); i_++)                         \
			strbuf_add_item((sb), (sep), (table)[i_]->name);     \
	} while (0)

#endif
