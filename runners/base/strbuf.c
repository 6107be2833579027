/*
 * The growing string; see strbuf.h.
 */
#include "strbuf.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL. */
static void grow(struct strbuf *sb, size_t n)
{
	size_t want = sb->len + n + 1;

	if (want <= sb->alloc)
		return;
	if (want < 64)
		want = 64;
	if (want < sb->alloc * 2)
		want = sb->alloc * 2;
	sb->buf = xrealloc(sb->buf, want);
	sb->alloc = want;
}

void strbuf_addn(struct strbuf *sb, const char *s, size_t n)
{
	grow(sb, n);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_add(struct strbuf *sb, const char *s)
{
	strbuf_addn(sb, s, strlen(s));
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	grow(sb, 0);
	va_copy(again, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	if (n < 0)
		die(EXIT_INTERNAL, "strbuf: bad format '%s'", fmt);
	if ((size_t)n >= sb->alloc - sb->len) {
		grow(sb, (size_t)n);
		(void)vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, again);
	}
	va_end(again);
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_add_item(struct strbuf *sb, const char *sep, const char *s)
{
	if (sb->len)
		strbuf_add(sb, sep);
	strbuf_add(sb, s);
}

void strbuf_add_shell_word(struct strbuf *sb, const char *w)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789@%+=:,./_-";
	size_t n = strlen(w), i;

	if (n && strspn(w, safe) == n) {
		strbuf_addn(sb, w, n);
		return;
	}
	strbuf_addn(sb, "'", 1);
	for (i = 0; i < n; i++) {
		if (w[i] == '\'')
			strbuf_addn(sb, "'\\''", 4);
		else
			strbuf_addn(sb, w + i, 1);
	}
	strbuf_addn(sb, "'", 1);
}

char *strbuf_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");

	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

char *strbuf_join(const char *const *items, size_t n, const char *sep)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			strbuf_add(&sb, sep);
		strbuf_add(&sb, items[i]);
	}
	return strbuf_detach(&sb);
}
