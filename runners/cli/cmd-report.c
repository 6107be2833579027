/*
 * pycstorm report RUNDIR|summary.json [--format F] [-o FILE]: any report
 * format from a run's summary.json, read back by the strict reader
 * (results/model/summary-load.c), so a merged or copied summary renders the same
 * way as a fresh run.
 */
#include "cli.h"

#include "common.h"
#include "strbuf.h"
#include "format.h"
#include "summary.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char report_usage[] =
	"usage: pycstorm report RUNDIR|summary.json [--format FORMAT] [-o FILE]\n\n"
	"Write one report of a run: md (default), csv, html, junit, tap or json,\n"
	"to standard output or FILE (written atomically).\n";

static char *format_names(void)
{
	struct strbuf list = STRBUF_INIT;

	STRBUF_ADD_NAMES(&list, format_table, format_count, ", ");
	return strbuf_detach(&list);
}

static int report_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct format_info *fmt = &format_md;
	const char *out = NULL;
	struct summary s;
	char err[1024], *path, *text = NULL, *names;
	size_t len = 0;
	int c, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "f:o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = format_find(optarg);
			if (!fmt) {
				names = format_names();
				die(EXIT_USAGE, "report: unknown format '%s' (valid: %s)", optarg, names);
			}
			break;
		case 'o': out = optarg; break;
		case 'h':
			(void)fputs(report_usage, stdout);
			return EXIT_OK;
		default:
			if (optopt)
				die(EXIT_USAGE, "report: option '%s' needs a value", argv[optind - 1]);
			cli_bad_option("report", argv[optind - 1], "-f/--format, -o/--out, -h/--help");
		}
	}
	if (optind + 1 != argc)
		die(EXIT_USAGE, "report: name one run folder or summary.json");
	path = summary_path(argv[optind]);
	if (summary_load(path, &s, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "report: %s", err);
	/* hyperfine's figures, when make bench-latency left them in the folder */
	if (strcmp(path, argv[optind]) != 0 && summary_load_bench(argv[optind], &s, err, sizeof(err)) < 0)
		warn("report: %s (hyperfine figures left out)", err);
	rc = format_render(fmt, &s, &text, &len);
	if (rc == 0 && out)
		rc = write_file_atomic(out, text, len);
	else if (rc == 0)
		rc = fwrite(text, 1, len, stdout) == len ? 0 : -1;
	if (rc < 0)
		die(EXIT_SKIP, "report: cannot write the %s report%s%s", fmt->name, out ? " to " : "",
		    out ? out : "");
	summary_free(&s);
	free(text);
	free(path);
	return EXIT_OK;
}

const struct command_info command_report = {
	.name = "report",
	.summary = "write a run's report as md, csv, html, junit, tap or json",
	.main = report_main,
};
