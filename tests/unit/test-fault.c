/*
 * Unit tests for the fault-spec parser (inject/faults/fault.c and each
 * fault's parameter table): every fault parses with its defaults and with
 * every parameter given, into its own typed fields; every kind of bad spec
 * is refused with one line that names the fault and the bad part.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fault.h"

#define MS 1000000ull

static struct fault_spec spec;
static char err[1024];

static void parses(const char *text)
{
	err[0] = '\0';
	if (fault_parse(text, &spec, err, sizeof(err)) < 0)
		fail_msg("'%s' was refused: %s", text, err);
	assert_string_equal(spec.text, text);
}

struct bad_spec {
	const char *text, *message;
};

/* text is refused with exactly message, on one line. */
static void refused(const char *text, const char *message)
{
	struct fault_spec s;

	err[0] = '\0';
	assert_int_equal(fault_parse(text, &s, err, sizeof(err)), -1);
	assert_null(strchr(err, '\n'));
	assert_string_equal(err, message);
}

static void every_fault_parses_with_its_defaults(void **state)
{
	char text[64];
	size_t i;

	(void)state;
	assert_int_equal(fault_count, 8);
	for (i = 0; i < fault_count; i++) {
		/* fiu has no default point: name one */
		(void)snprintf(text, sizeof(text), "%s%s", fault_table[i]->name,
			       fault_table[i] == &fault_fiu ? ":point=posix/io/rw/write" : "");
		parses(text);
		assert_ptr_equal(spec.info, fault_table[i]);
		assert_ptr_equal(fault_find(fault_table[i]->name), fault_table[i]);
		assert_non_null(fault_point(&spec));
	}
}

/* Each parameter writes its fault's own field, or the shared p. */
static void every_param_has_a_typed_home(void **state)
{
	size_t i, k, u = offsetof(struct fault_spec, u);
	const struct fault_param *prm;

	(void)state;
	for (i = 0; i < fault_count; i++)
		for (k = 0; k < fault_table[i]->nparams; k++) {
			prm = &fault_table[i]->params[k];
			if (prm->offset == offsetof(struct fault_spec, p)) {
				assert_int_equal(prm->kind, P_PROB);
				continue;
			}
			assert_true(prm->offset >= u);
			assert_true(prm->offset < u + sizeof(spec.u));
			assert_int_equal(prm->kind == P_CHOICE || prm->kind == P_MASK,
					 prm->choices != NULL);
		}
}

static void defaults_are_typed(void **state)
{
	(void)state;
	parses("power-cut");
	assert_int_equal(spec.u.power_cut.at.lo, 50 * MS);
	assert_int_equal(spec.u.power_cut.at.hi, 500 * MS);
	assert_int_equal(spec.u.power_cut.model, MODEL_WRITEBACK);
	assert_int_equal(spec.u.power_cut.sector, 4096);
	assert_true(spec.u.power_cut.persist == 0.5);
	assert_true(spec.p == 0);             /* power-cut has no p= */

	parses("held-lock");
	assert_int_equal(spec.u.held_lock.holders, 2);
	assert_int_equal(spec.u.held_lock.hold.lo, 1 * MS);
	assert_int_equal(spec.u.held_lock.hold.hi, 500 * MS);
	assert_int_equal(spec.u.held_lock.gap.lo, 0);
	assert_int_equal(spec.u.held_lock.gap.hi, 5 * MS);
	assert_int_equal(spec.u.held_lock.share, SHARE_DELETE);
	assert_true(spec.p == 1);

	parses("short-write");
	assert_true(spec.p == 0.05);
	assert_true(spec.u.short_write.fraction == -1);

	parses("write-error");
	assert_int_equal(spec.u.write_error.errnos, 1);   /* ENOSPC */
	assert_int_equal(spec.u.write_error.on, WRITE_ERROR_ON_WRITE);

	parses("rename-delay");
	assert_int_equal(spec.u.rename_delay.when, DELAY_BEFORE);
	assert_int_equal(spec.u.rename_delay.ops, DELAY_RENAME | DELAY_UNLINK);

	parses("crash");
	assert_int_equal(spec.u.crash.at, CRASH_BEFORE_RENAME);
	assert_int_equal(spec.u.crash.n, 1);
}

static void every_param_given(void **state)
{
	(void)state;
	parses("short-write:p=0.25,fraction=0.5");
	assert_true(spec.p == 0.25);
	assert_true(spec.u.short_write.fraction == 0.5);

	parses("exact:call=3,do=short,keep=one-short");
	assert_true(spec.p == 1);
	assert_int_equal(spec.u.exact.call, 3);
	assert_int_equal(spec.u.exact.what, EXACT_SHORT);
	assert_int_equal(spec.u.exact.keep, EXACT_KEEP_ONE_SHORT);
	parses("exact:call=4,do=EPERM");
	assert_int_equal(spec.u.exact.what, EXACT_EPERM);

	parses("write-error:p=1,errno=EIO|EDQUOT,on=close|fsync");
	assert_true(spec.p == 1);
	assert_int_equal(spec.u.write_error.errnos, 2 | 4);
	assert_int_equal(spec.u.write_error.on, WRITE_ERROR_ON_CLOSE | WRITE_ERROR_ON_FSYNC);

	parses("rename-delay:p=0.5,delay=3ms,when=both,ops=unlink");
	assert_int_equal(spec.u.rename_delay.delay.lo, 3 * MS);
	assert_int_equal(spec.u.rename_delay.delay.hi, 3 * MS);
	assert_int_equal(spec.u.rename_delay.when, DELAY_BOTH);
	assert_int_equal(spec.u.rename_delay.ops, DELAY_UNLINK);

	parses("held-lock:holders=3,hold=2ms..1s,gap=1ms..2ms,share=none,p=0.75");
	assert_int_equal(spec.u.held_lock.holders, 3);
	assert_int_equal(spec.u.held_lock.hold.lo, 2 * MS);
	assert_int_equal(spec.u.held_lock.hold.hi, 1000 * MS);
	assert_int_equal(spec.u.held_lock.gap.lo, 1 * MS);
	assert_int_equal(spec.u.held_lock.gap.hi, 2 * MS);
	assert_int_equal(spec.u.held_lock.share, SHARE_NONE);
	assert_true(spec.p == 0.75);

	parses("crash:p=0.5,at=after-write,n=3");
	assert_int_equal(spec.u.crash.at, CRASH_AFTER_WRITE);
	assert_int_equal(spec.u.crash.n, 3);
	parses("crash:at=after-rename");
	assert_int_equal(spec.u.crash.at, CRASH_AFTER_RENAME);

	parses("power-cut:at=10ms..20ms,model=ext4-ordered,sector=512,persist=0.125");
	assert_int_equal(spec.u.power_cut.at.lo, 10 * MS);
	assert_int_equal(spec.u.power_cut.at.hi, 20 * MS);
	assert_int_equal(spec.u.power_cut.model, MODEL_EXT4_ORDERED);
	assert_int_equal(spec.u.power_cut.sector, 512);
	assert_true(spec.u.power_cut.persist == 0.125);

	parses("fiu:point=posix/io/rw/write/reduce,p=0.1");
	assert_string_equal(spec.u.fiu.point, "posix/io/rw/write/reduce");
	assert_string_equal(fault_point(&spec), "posix/io/rw/write/reduce");
	assert_true(spec.p == 0.1);
}

/* A spec copied by value still names its point (fiu's lives in the spec). */
static void point_survives_a_copy(void **state)
{
	struct fault_spec copy;

	(void)state;
	parses("fiu:point=posix/io/oc/open");
	copy = spec;
	memset(&spec, 0, sizeof(spec));
	assert_string_equal(fault_point(&copy), "posix/io/oc/open");
	parses("short-write");
	assert_string_equal(fault_point(&spec), "pycstorm/write/short");
}

static void bad_specs_say_why(void **state)
{
	static const struct bad_spec cases[] = {
		{ "tear", "fault 'tear': unknown fault 'tear' (valid: short-write, write-error, "
		  "rename-delay, held-lock, crash, power-cut, fiu, exact)" },
		{ "", "fault '': unknown fault '' (valid: short-write, write-error, rename-delay, "
		  "held-lock, crash, power-cut, fiu, exact)" },
		{ "short-write:q=1", "fault 'short-write:q=1': unknown parameter 'q=1' (valid: p, "
		  "fraction)" },
		{ "short-write:p", "fault 'short-write:p': expected KEY=VALUE, got 'p' (valid: p, "
		  "fraction)" },
		{ "short-write:", "fault 'short-write:': an empty parameter" },
		{ "short-write:p=0.1,,fraction=0.5",
		  "fault 'short-write:p=0.1,,fraction=0.5': an empty parameter" },
		{ "short-write:p=0.1,p=0.2", "fault 'short-write:p=0.1,p=0.2': 'p' is given twice" },
		{ "fiu", "fault 'fiu': needs point=..." },
		{ "fiu:point=", "fault 'fiu:point=': point=: not a name" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].text, cases[i].message);
}

static void bad_values_say_what_was_wanted(void **state)
{
	static const struct bad_spec cases[] = {
		{ "short-write:p=2", "fault 'short-write:p=2': p=2: not a probability from 0 to 1" },
		{ "short-write:p=-0.1",
		  "fault 'short-write:p=-0.1': p=-0.1: not a probability from 0 to 1" },
		{ "short-write:p=abc",
		  "fault 'short-write:p=abc': p=abc: not a probability from 0 to 1" },
		{ "short-write:p=", "fault 'short-write:p=': p=: not a probability from 0 to 1" },
		{ "short-write:fraction=1", "fault 'short-write:fraction=1': fraction=1: not a "
		  "fraction between 0 and 1, or random" },
		{ "short-write:fraction=0", "fault 'short-write:fraction=0': fraction=0: not a "
		  "fraction between 0 and 1, or random" },
		{ "rename-delay:delay=5ms..1ms", "fault 'rename-delay:delay=5ms..1ms': "
		  "delay=5ms..1ms: not a duration (5ms) or a range (1ms..500ms)" },
		{ "rename-delay:delay=soon", "fault 'rename-delay:delay=soon': delay=soon: not a "
		  "duration (5ms) or a range (1ms..500ms)" },
		{ "rename-delay:delay=1ms..", "fault 'rename-delay:delay=1ms..': delay=1ms..: not "
		  "a duration (5ms) or a range (1ms..500ms)" },
		{ "held-lock:holders=0",
		  "fault 'held-lock:holders=0': holders=0: not a whole number >= 1" },
		{ "held-lock:holders=1000001",
		  "fault 'held-lock:holders=1000001': holders=1000001: not a whole number >= 1" },
		{ "held-lock:holders=2.5",
		  "fault 'held-lock:holders=2.5': holders=2.5: not a whole number >= 1" },
		{ "held-lock:share=some",
		  "fault 'held-lock:share=some': share=some: not one of delete|none" },
		{ "power-cut:sector=1024",
		  "fault 'power-cut:sector=1024': sector=1024: not one of 4096|512" },
		{ "power-cut:model=ext3", "fault 'power-cut:model=ext3': model=ext3: not one of "
		  "ext4-ordered|writeback" },
		{ "crash:at=", "fault 'crash:at=': at=: not one of "
		  "after-write|before-rename|after-rename" },
		{ "write-error:errno=ENOSPC|EPERM", "fault 'write-error:errno=ENOSPC|EPERM': "
		  "errno=ENOSPC|EPERM: not one or more of, joined by '|', ENOSPC|EIO|EDQUOT" },
		{ "write-error:on=", "fault 'write-error:on=': on=: not one or more of, joined by "
		  "'|', write|close|fsync" },
		{ "write-error:on=write|", "fault 'write-error:on=write|': on=write|: not one or "
		  "more of, joined by '|', write|close|fsync" },
		{ "rename-delay:ops=rename||unlink", "fault 'rename-delay:ops=rename||unlink': "
		  "ops=rename||unlink: not one or more of, joined by '|', rename|unlink" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].text, cases[i].message);
}

static void long_values_are_refused_not_cut(void **state)
{
	char text[400], want[1024];

	(void)state;
	(void)snprintf(text, sizeof(text), "fiu:point=%0*d", FAULT_NAME_MAX, 7);
	(void)snprintf(want, sizeof(want), "fault '%s': point=%s: not a name", text, text + 10);
	refused(text, want);
	(void)snprintf(text, sizeof(text), "fiu:point=%0*d", FAULT_NAME_MAX - 1, 7);
	parses(text);
	assert_int_equal(strlen(spec.u.fiu.point), FAULT_NAME_MAX - 1);
	/* a range whose first half is longer than any duration */
	(void)snprintf(text, sizeof(text), "rename-delay:delay=%0100d..1s", 1);
	assert_int_equal(fault_parse(text, &spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": not a duration (5ms) or a range (1ms..500ms)"));
}

static void lists_take_each_fault_once(void **state)
{
	struct fault_spec specs[FAULT_MAX_SPECS];
	char many[4096] = "";
	size_t i;

	(void)state;
	assert_int_equal(fault_parse_list("short-write:p=0.5;crash;power-cut", specs,
					  FAULT_MAX_SPECS, err, sizeof(err)), 3);
	assert_ptr_equal(specs[0].info, &fault_short_write);
	assert_true(specs[0].p == 0.5);
	assert_ptr_equal(specs[2].info, &fault_power_cut);

	assert_int_equal(fault_parse_list("crash;short-write;crash:at=after-rename", specs,
					  FAULT_MAX_SPECS, err, sizeof(err)), -1);
	assert_string_equal(err, "fault 'crash' is given twice");

	assert_int_equal(fault_parse_list("crash;short-write:p=7", specs, FAULT_MAX_SPECS, err,
					  sizeof(err)), -1);
	assert_string_equal(err, "fault 'short-write:p=7': p=7: not a probability from 0 to 1");

	for (i = 0; i < 3; i++) {
		(void)strcat(many, i ? ";" : "");
		(void)strcat(many, fault_table[i]->name);
	}
	assert_int_equal(fault_parse_list(many, specs, 3, err, sizeof(err)), 3);
	assert_int_equal(fault_parse_list(many, specs, 2, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 2 faults");
	assert_int_equal(fault_parse_list("", specs, FAULT_MAX_SPECS, err, sizeof(err)), 0);
}

static void choices_by_name(void **state)
{
	char words[128];

	(void)state;
	assert_int_equal(fault_choice_value(&fault_power_cut, "model", "ext4-ordered"),
			 MODEL_EXT4_ORDERED);
	assert_int_equal(fault_choice_value(&fault_power_cut, "model", "writeback"),
			 MODEL_WRITEBACK);
	assert_int_equal(fault_choice_value(&fault_power_cut, "sector", "512"), 512);
	assert_int_equal(fault_choice_value(&fault_power_cut, "model", "ext4"), -1);
	assert_int_equal(fault_choice_value(&fault_power_cut, "nothing", "writeback"), -1);
	fault_choice_words(&fault_crash.params[1], words, sizeof(words));
	assert_string_equal(words, "after-write|before-rename|after-rename");
	fault_choice_words(&fault_crash.params[0], words, sizeof(words));
	assert_string_equal(words, "");
	/* a short buffer is cut, never overrun */
	fault_choice_words(&fault_crash.params[1], words, 8);
	assert_string_equal(words, "after-w");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_fault_parses_with_its_defaults),
		cmocka_unit_test(every_param_has_a_typed_home),
		cmocka_unit_test(defaults_are_typed),
		cmocka_unit_test(every_param_given),
		cmocka_unit_test(point_survives_a_copy),
		cmocka_unit_test(bad_specs_say_why),
		cmocka_unit_test(bad_values_say_what_was_wanted),
		cmocka_unit_test(long_values_are_refused_not_cut),
		cmocka_unit_test(lists_take_each_fault_once),
		cmocka_unit_test(choices_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
