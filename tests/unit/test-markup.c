/*
 * Unit tests for results/formats/markup.c's Markdown text: nothing from a summary
 * can end a GFM table cell or row ('|', a line break), undo or make an
 * escape ('\'), or open raw HTML ('<'); a code span is fenced by more
 * backticks than it holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "markup.h"

static void md_text_escapes(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "py33-atomic", "py33-atomic" },
		{ "a|b.py", "a\\|b.py" },
		{ "a\\|b", "a\\\\\\|b" },
		{ "two\nlines\r\n", "two\\nlines\\r\\n" },
		{ "tab\tand\x1b" "esc\x7f", "tab\\tand\\x1besc\\x7f" },
		{ "<b>x</b>", "\\<b>x\\</b>" },
		{ "caf\xc3\xa9 `x` *y* _z_", "caf\xc3\xa9 `x` *y* _z_" },
		{ "", "" },
	};
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = md_text(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	got = md_text(NULL);
	assert_string_equal(got, "");
	free(got);
}

/* What md_put_code writes for s. */
static char *code(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	md_put_code(f, s);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void md_code_fences(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "pycstorm run -s a", "`pycstorm run -s a`" },
		{ "a `b` c", "``a `b` c``" },
		{ "a ``b`` c", "```a ``b`` c```" },
		{ "`x", "`` `x ``" },
		{ "x|y\nz", "`x|y\\nz`" },
	};
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = code(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(md_text_escapes),
		cmocka_unit_test(md_code_fences),
	};

	return cmocka_run_group_tests_name("markup", tests, NULL, NULL);
}
