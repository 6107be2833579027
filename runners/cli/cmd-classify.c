/*
 * pycstorm classify [--python PATH]... [--run | --no-run] [--source FILE.py]
 * FILE.pyc...: what is wrong with a cache file from the field, as the
 * Python that reads it would see it.
 *
 * Each file goes to the judge (runners/worker/judge.py) run by an
 * interpreter of the release that reads the file: the one its cache tag
 * names, else the one its magic number names (pythons.h). Files in a row
 * with the same reader share one judge. With no such interpreter the
 * verdict is "cannot judge", never a guess by another release.
 */
#include "cli.h"

#include "common.h"
#include "proc.h"
#include "pyc.h"
#include "pythons.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif
#ifndef PYTHON_BUILD_RELEASE
#define PYTHON_BUILD_RELEASE "3"
#endif

/* The exit status for a file nobody here can judge. */
#define EXIT_CANNOT_JUDGE EXIT_SKIP

static const char classify_usage[] =
	"usage: pycstorm classify [--python PATH]... [--run | --no-run] [--source FILE.py]\n"
	"                         [--written DIR] FILE.pyc...\n\n"
	"For each file: the header (magic, flags, mtime and size or hash), whether\n"
	"the reader accepts it against the source beside it (X/__pycache__/NAME.TAG.pyc\n"
	"-> X/NAME.py, or --source), whether the body unmarshals, whether the module\n"
	"imports and runs, the exact error and the outcome class. The reader is an\n"
	"interpreter of the release the cache tag (else the magic number) names,\n"
	"found from --python, PYCSTORM_PYTHONS, PATH and pyenv ('pycstorm list pythons').\n\n"
	"  --python PATH   an interpreter to judge with (repeatable; first per release wins)\n"
	"  --run           always import the module in a capped child of the reader\n"
	"  --no-run        never import it (header and unmarshal only)\n"
	"                  (default: import it when its code differs from its source's)\n"
	"  --source FILE   the source to compare the header with, for every file\n"
	"  --written DIR   exec's records of complete write streams: a file that is\n"
	"                  its own writer's complete write is not compiled to compare\n\n"
	"Exit status: 0 every file would import, 1 one would fail, 2 unreadable or\n"
	"bad usage, 77 a file cannot be judged (no interpreter of its release).\n";

struct classify_opts {
	const char **pythons;
	size_t npythons;
	const char *run;          /* "--run", "--no-run" or NULL (auto) */
	const char *source;
	const char *written;
};

/* One run of files with the same reader. The reader is held by its path:
 * the list it was found in grows, and moves, as releases are looked up. */
struct judge_batch {
	char *reader;
	const char **files;
	size_t count;
};

static void parse_classify(int argc, char **argv, struct classify_opts *o)
{
	static const struct option longs[] = {
		{ "python", required_argument, NULL, 'Y' },
		{ "run", no_argument, NULL, 'R' },
		{ "no-run", no_argument, NULL, 'N' },
		{ "source", required_argument, NULL, 'S' },
		{ "written", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	int c, e;

	memset(o, 0, sizeof(*o));
	o->pythons = xcalloc((size_t)argc, sizeof(char *));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
		switch (c) {
		case 'Y': o->pythons[o->npythons++] = optarg; break;
		case 'R': o->run = "--run"; break;
		case 'N': o->run = "--no-run"; break;
		case 'S': o->source = optarg; break;
		case 'W': o->written = optarg; break;
		case 'h': (void)fputs(classify_usage, stdout); exit(EXIT_OK);
		default:
			cli_bad_option("classify", argv[optind - 1],
				       "--python, --run, --no-run, --source, --written, -h/--help");
		}
	}
	if (optind >= argc)
		die(EXIT_USAGE, "classify: no files given (usage: pycstorm classify FILE.pyc...)");
	/* Given, the source must be there: a FIFO or a device in its place
	 * would otherwise be "no source", and the header judged on its own. */
	if (o->source && (e = read_file_check(o->source)) < 0)
		die(EXIT_USAGE, "classify: --source '%s': %s", o->source, read_file_error(e));
	e = o->written ? (stat(o->written, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR) : 0;
	if (e)
		die(EXIT_USAGE, "classify: --written '%s': %s", o->written, strerror(e));
}

/* The first 16 bytes of a regular file, without blocking on anything else. */
static int read_head(const char *path, uint8_t *head, size_t *len)
{
	int e = read_file_check(path), fd = -1;
	ssize_t got = -1;

	if (e == 0)
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, head, PYC_HEADER_SIZE);
		(void)close(fd);
	}
	*len = got > 0 ? (size_t)got : 0;
	return e < 0 ? e : got < 0 ? -errno : 0;
}

/* A file no judge sees: its block in the report, in the same format. */
static void print_unjudged(const char *path, const char *cls, const char *error)
{
	(void)printf("file: %s\nclass: %s\nerror: %s\n\n", path, cls, error);
	(void)fflush(stdout);
	(void)fprintf(stderr, "pycstorm: classify: '%s': %s\n", path, error);
}

/* The interpreter for release, looked up once per release; the one the
 * worker embeds stands in for its own release when nothing else is found. */
static const struct python *reader_for(struct python_list *found, const struct classify_opts *o,
				       const char *release)
{
	const struct python *py = pythons_for_release(found, release);
	struct python_list more;
	char err[512];

	if (!py && release) {
		if (pythons_find_release(&more, o->pythons, o->npythons, release, err,
					 sizeof(err)) < 0)
			die(EXIT_CANNOT_JUDGE, "classify: %s", err);
		if (!pythons_for_release(&more, release)) {
			const char *builtin[] = { PYTHON_EXE };
			pythons_free(&more);
			(void)pythons_find_release(&more, builtin, 1, release, err, sizeof(err));
		}
		/* Keep what was probed, so the next file of this release is quick. */
		found->items = xrealloc(found->items,
					(found->count + more.count) * sizeof(struct python));
		memcpy(found->items + found->count, more.items, more.count * sizeof(struct python));
		found->count += more.count;
		free(more.items);
		py = pythons_for_release(found, release);
	}
	return py;
}

/* Run the judge on a batch; its report goes straight to our stdout. */
static int run_judge(const struct judge_batch *b, const struct classify_opts *o)
{
	char *judge = cli_judge_program();
	const char **argv = xcalloc(b->count + 10, sizeof(char *));
	size_t n = 0;
	int status = 0, rc = EXIT_INTERNAL;
	pid_t pid;

	argv[n++] = b->reader;
	argv[n++] = "-E";
	argv[n++] = "-s";
	argv[n++] = "-S";   /* it needs the standard library alone, not site's .pth files */
	argv[n++] = judge;
	if (o->run)
		argv[n++] = o->run;
	if (o->source) {
		argv[n++] = "--source";
		argv[n++] = o->source;
	}
	if (o->written) {
		argv[n++] = "--written";
		argv[n++] = o->written;
	}
	memcpy(argv + n, b->files, b->count * sizeof(char *));
	(void)fflush(stdout);
	pid = proc_fork();
	if (pid == 0) {
		proc_unblock();
		execv(argv[0], (char *const *)argv);
		(void)fprintf(stderr, "pycstorm: classify: cannot run '%s': %s\n", argv[0],
			      strerror(errno));
		_exit(EXIT_INTERNAL);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) <= EXIT_USAGE)
		rc = WEXITSTATUS(status);
	else
		(void)fprintf(stderr, "pycstorm: classify: the judge under '%s' failed (%s)\n",
			      b->reader, pid < 0 ? strerror(errno) : "it did not finish its report");
	free(argv);
	free(judge);
	return rc;
}

/* 2 (unreadable) beats 1 (would fail) beats 77 (cannot judge) beats 0. */
static int worse(int a, int b)
{
	static const int order[] = { EXIT_OK, EXIT_CANNOT_JUDGE, EXIT_FAILED, EXIT_USAGE,
				     EXIT_INTERNAL };
	int ra = 0, rb = 0, i;

	for (i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
		ra = order[i] == a ? i : ra;
		rb = order[i] == b ? i : rb;
	}
	return ra >= rb ? a : b;
}

static int classify_main_cli(int argc, char **argv)
{
	struct classify_opts o;
	struct python_list found = { 0 };
	struct judge_batch batch = { 0 };
	const char *release = NULL, *writer = NULL;
	uint8_t head[PYC_HEADER_SIZE];
	char why[256];
	size_t len;
	int i, e, rc = EXIT_OK;

	parse_classify(argc, argv, &o);
	batch.files = xcalloc((size_t)argc, sizeof(char *));
	for (i = optind; i <= argc; i++) {
		const struct python *reader = NULL;

		e = i < argc ? read_head(argv[i], head, &len) : 0;
		if (i < argc && e == 0) {
			release = pythons_reader_release(argv[i], head, len, &writer);
			/* A file that names no release is rejected by every
			 * reader's magic check alike: the built-in one judges it. */
			if (!release)
				release = PYTHON_BUILD_RELEASE;
			reader = reader_for(&found, &o, release);
		}
		if (batch.count && (i == argc || !reader || strcmp(reader->path, batch.reader))) {
			rc = worse(rc, run_judge(&batch, &o));
			batch.count = 0;
		}
		if (i == argc)
			break;
		if (e < 0) {
			print_unjudged(argv[i], "unreadable", read_file_error(e));
			rc = worse(rc, EXIT_USAGE);
		} else if (!reader) {
			if (writer && !strcmp(writer, release))
				(void)snprintf(why, sizeof(why), "cannot judge: written by Python %s "
					       "(magic %u); pass --python", release, pyc_le32(head) & 0xffff);
			else
				(void)snprintf(why, sizeof(why), "cannot judge: read by Python %s "
					       "(its cache tag names it); pass --python", release);
			print_unjudged(argv[i], "cannot_judge", why);
			rc = worse(rc, EXIT_CANNOT_JUDGE);
		} else {
			if (!batch.count) {
				free(batch.reader);
				batch.reader = xstrdup(reader->path);
			}
			batch.files[batch.count++] = argv[i];
		}
	}
	pythons_free(&found);
	free(batch.reader);
	free(batch.files);
	free(o.pythons);
	return rc;
}

const struct command_info command_classify = {
	.name = "classify",
	.summary = "explain what is wrong with a .pyc file, as its own Python reads it",
	.main = classify_main_cli,
};
