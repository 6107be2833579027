/*
 * pycstorm-worker --classify [--source FILE.py] FILE.pyc...: the classifier
 * behind `pycstorm classify`. For each file: the header fields, whether
 * importlib would accept the header (against the source next to it, found
 * the way importlib lays out __pycache__), whether the body unmarshals, the
 * exact exception text and the outcome class. It runs in the worker binary
 * because the unmarshalling must be the real interpreter's.
 *
 * Exit status: 0 when every file would import, 1 when one would fail,
 * 2 when a file cannot be read or the usage is wrong.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "common.h"
#include "embed.h"
#include "outcome.h"
#include "pyc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct source_info {
	char *path;              /* NULL when there is no source to check against */
	struct pyc_source stamp;
};

/* X/__pycache__/NAME.TAG.pyc -> X/NAME.py; X/NAME.pyc -> X/NAME.py */
static char *source_for(const char *pyc, char **module)
{
	char *copy = xstrdup(pyc), *base, *dot, *dir, *path;

	base = strrchr(copy, '/');
	dir = base ? copy : NULL;
	base = base ? base + 1 : copy;
	if (base != copy)
		base[-1] = '\0';
	dot = strchr(base, '.');
	*module = xstrndup(base, dot ? (size_t)(dot - base) : strlen(base));
	if (dir && (strcmp(strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, "__pycache__") == 0)) {
		char *up = strrchr(dir, '/');
		if (up)
			*up = '\0';
		path = up ? xasprintf("%s/%s.py", dir, *module) : xasprintf("%s.py", *module);
	} else {
		path = dir ? xasprintf("%s/%s.py", dir, *module) : xasprintf("%s.py", *module);
	}
	free(copy);
	return path;
}

static int load_source(const char *path, uint32_t magic, struct source_info *src)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	PyObject *imp = NULL, *hash = NULL;
	int rc = -1;

	memset(src, 0, sizeof(*src));
	if (stat(path, &st) < 0 || read_file(path, &text, &len) < 0)
		return -1;
	src->path = xstrdup(path);
	src->stamp.mtime = (uint32_t)st.st_mtime;
	src->stamp.size = (uint32_t)st.st_size;
	imp = PyImport_ImportModule("_imp");
	if (imp)
		hash = PyObject_CallMethod(imp, "source_hash", "ly#", (long)magic, text,
					   (Py_ssize_t)len);
	if (hash && PyBytes_Size(hash) == 8) {
		memcpy(src->stamp.hash, PyBytes_AsString(hash), 8);
		rc = 0;
	}
	PyErr_Clear();
	Py_XDECREF(hash);
	Py_XDECREF(imp);
	free(text);
	return rc;
}

static void print_header(const uint8_t *data, size_t len)
{
	uint32_t magic = len >= 4 ? pyc_le32(data) : 0, flags;
	const char *release = len >= 4 ? pyc_magic_release(magic) : NULL;
	time_t mtime;
	char when[64];

	if (len < 4) {
		(void)printf("magic: (file shorter than 4 bytes)\n");
		return;
	}
	if (release)
		(void)printf("magic: %u (Python %s)\n", magic & 0xffff, release);
	else
		(void)printf("magic: 0x%08x (not a known Python release)\n", magic);
	if (len < PYC_HEADER_SIZE) {
		(void)printf("header: truncated at %zu of 16 bytes\n", len);
		return;
	}
	flags = pyc_le32(data + 4);
	if (flags & PYC_FLAG_HASH) {
		(void)printf("flags: %u (hash-based, %s)\nsource_hash: ", flags,
			     flags & PYC_FLAG_CHECK_SOURCE ? "checked" : "unchecked");
		for (int i = 8; i < 16; i++)
			(void)printf("%02x", data[i]);
		(void)printf("\n");
	} else {
		mtime = (time_t)pyc_le32(data + 8);
		(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&mtime));
		(void)printf("flags: %u (%s)\nsource_mtime: %u (%s)\nsource_size: %u\n", flags,
			     flags ? "invalid" : "timestamp", pyc_le32(data + 8), when,
			     pyc_le32(data + 12));
	}
}

/* Classify one file; returns its outcome, or -1 when it cannot be read. */
static int classify_one(const char *path, const char *source_opt, uint32_t magic)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *module = NULL, *guess, error[1024] = "";
	struct source_info src;
	struct pyc_source self;
	struct pyc_check check;
	enum outcome outcome;
	int e = read_file(path, (char **)&data, &len), have_source;

	(void)printf("file: %s\n", path);
	if (e < 0) {
		/* The record keeps a batch's reports in step with its files
		 * (exec-check.c); the line on stderr is for a person. */
		(void)printf("class: unreadable\nerror: %s\n\n", read_file_error(e));
		(void)fflush(stdout);
		(void)fprintf(stderr, "pycstorm: classify: '%s': %s\n", path, read_file_error(e));
		return -1;
	}
	guess = source_for(path, &module);
	have_source = load_source(source_opt ? source_opt : guess, magic, &src) == 0;
	(void)printf("size: %zu\n", len);
	print_header(data, len);
	if (have_source) {
		(void)printf("source: %s (mtime %u, size %u)\n", src.path, src.stamp.mtime,
			     src.stamp.size);
		pyc_check_header(data, len, magic, &src.stamp, 1, module, &check);
	} else {
		/* No source: judge the header on its own, as if it were fresh. */
		(void)printf("source: none found at %s (header not compared with a source)\n", guess);
		memset(&self, 0, sizeof(self));
		if (len >= PYC_HEADER_SIZE) {
			self.mtime = pyc_le32(data + 8);
			self.size = pyc_le32(data + 12);
			memcpy(self.hash, data + 8, 8);
		}
		pyc_check_header(data, len, magic, &self, 1, module, &check);
	}
	if (check.verdict == PYC_VALID) {
		(void)printf("header: accepted\n");
		outcome = embed_unmarshal(data, len, path, error, sizeof(error));
		(void)printf("body: %s\n", outcome == OUTCOME_OK ? "unmarshals to a code object"
								 : "does not load");
	} else {
		(void)printf("header: rejected: %s (importlib recompiles from source)\n", check.why);
		outcome = OUTCOME_STALE;
		if (len > PYC_HEADER_SIZE && check.verdict != PYC_BAD_MAGIC) {
			enum outcome body = embed_unmarshal(data, len, path, error, sizeof(error));
			(void)printf("body: %s%s%s\n", body == OUTCOME_OK ? "unmarshals" : "does not load: ",
				     body == OUTCOME_OK ? "" : error, "");
			error[0] = '\0';
		}
	}
	(void)printf("class: %s\n", outcome_name(outcome));
	if (error[0])
		(void)printf("error: %s\n", error);
	(void)printf("\n");
	free(src.path);
	free(module);
	free(guess);
	free(data);
	return (int)outcome;
}

int classify_main(int argc, char **argv)
{
	const char *source = NULL;
	char why[512];
	int i = 1, rc = EXIT_OK, o;
	uint32_t magic;

	if (i + 1 < argc && !strcmp(argv[i], "--source")) {
		source = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		(void)fprintf(stderr, "pycstorm: classify: no files given\n");
		return EXIT_USAGE;
	}
	/* Given, the source must be there: a FIFO or a device in its place
	 * would otherwise be "no source", and the header judged on its own. */
	if (source && (o = read_file_check(source)) < 0) {
		(void)fprintf(stderr, "pycstorm: classify: --source '%s': %s\n", source,
			      read_file_error(o));
		return EXIT_USAGE;
	}
	if (embed_start(why, sizeof(why)) < 0) {
		(void)fprintf(stderr, "pycstorm: classify: %s\n", why);
		return EXIT_SKIP;
	}
	magic = (uint32_t)PyImport_GetMagicNumber();
	(void)printf("python: %s (magic %u)\n\n", Py_GetVersion(), magic & 0xffff);
	for (; i < argc; i++) {
		o = classify_one(argv[i], source, magic);
		if (o < 0)
			rc = EXIT_USAGE;
		else if (rc == EXIT_OK && o != OUTCOME_OK && o != OUTCOME_STALE)
			rc = EXIT_FAILED;
	}
	if (Py_FinalizeEx() < 0)
		rc = EXIT_INTERNAL;
	return rc;
}
