/*
 * Unit tests for runners/base/strbuf.c: appending past the first
 * allocation, formatted text longer than the room left, lists joined with
 * a separator (none, one, several), registry names, shell words that a
 * shell reads back as given, and detach/release leaving an empty buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "strbuf.h"

static void grows_and_formats(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char want[4096];
	size_t i, k = 0;
	char *s;

	(void)state;
	for (i = 0; i < 300; i++) {
		strbuf_addf(&sb, "%zu,", i);
		k += (size_t)snprintf(want + k, sizeof(want) - k, "%zu,", i);
	}
	assert_int_equal(sb.len, k);
	assert_string_equal(sb.buf, want);
	strbuf_addn(&sb, "abcdef", 3);
	assert_int_equal(sb.len, k + 3);
	assert_string_equal(sb.buf + k, "abc");
	s = strbuf_detach(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(strlen(s), k + 3);
	free(s);
}

static void empty_detaches_to_empty_text(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s = strbuf_detach(&sb);

	(void)state;
	assert_string_equal(s, "");
	free(s);
	strbuf_add(&sb, "x");
	strbuf_release(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
}

static void joins(void **state)
{
	static const char *const items[] = { "a", "bb", "ccc" };
	struct strbuf sb = STRBUF_INIT;
	char *s;

	(void)state;
	s = strbuf_join(items, 0, ", ");
	assert_string_equal(s, "");
	free(s);
	s = strbuf_join(items, 1, ", ");
	assert_string_equal(s, "a");
	free(s);
	s = strbuf_join(items, 3, ";");
	assert_string_equal(s, "a;bb;ccc");
	free(s);
	strbuf_add_item(&sb, ", ", "x");
	strbuf_add_item(&sb, ", ", "y");
	assert_string_equal(sb.buf, "x, y");
	strbuf_release(&sb);
}

struct named { const char *name; int other; };

static void joins_registry_names(void **state)
{
	static const struct named one = { "one", 1 }, two = { "two", 2 };
	static const struct named *const table[] = { &one, &two };
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	STRBUF_ADD_NAMES(&sb, table, 2, ", ");
	assert_string_equal(sb.buf, "one, two");
	strbuf_release(&sb);
}

/* What sh makes of the quoted word, as printf '%s' prints it. */
static char *shell_reads(const char *quoted)
{
	char *cmd = NULL, out[512];
	size_t n;
	FILE *p;

	assert_true(asprintf(&cmd, "printf '%%s' %s", quoted) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	assert_int_equal(pclose(p), 0);
	out[n] = '\0';
	free(cmd);
	return strdup(out);
}

static void shell_words_read_back(void **state)
{
	static const char *const words[] = {
		"plain-word_1.2/x:y=z", "two words", "it's", "'", "$HOME `id` \"q\"", "a\\b",
		"short-write:p=0.05,fraction=0.5", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		char *back;

		strbuf_add_shell_word(&sb, words[i]);
		back = shell_reads(sb.buf);
		assert_string_equal(back, words[i]);
		free(back);
		strbuf_release(&sb);
	}
	{
		struct strbuf sb = STRBUF_INIT;

		strbuf_add_shell_word(&sb, "bare");
		assert_string_equal(sb.buf, "bare");
		strbuf_release(&sb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_and_formats),
		cmocka_unit_test(empty_detaches_to_empty_text),
		cmocka_unit_test(joins),
		cmocka_unit_test(joins_registry_names),
		cmocka_unit_test(shell_words_read_back),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
