/*
 * pycstorm-ceiling: the throughput ceiling for `make bench`. The same work
 * as the embedded worker's pyc cycles with no harness around it: no
 * orchestrator, no records, no latency samples, no inject library, no
 * strategy table. N processes, each with its own interpreter (started as
 * the worker starts it), loop until a shared deadline:
 *
 *   compile role: write the pyc image with the py33-atomic protocol
 *                 (open O_EXCL temporary, one write, close, rename);
 *   import role:  open, fstat, one read, close, check the 16-byte header,
 *                 PyMarshal_ReadObjectFromString; a missing or stale file
 *                 is written back, as an import that misses does.
 *
 * The roles split as the harness splits them (compile-share, rounded), the
 * module is picked at random per cycle and the version alternates with the
 * cycle and the worker, as in runners/worker/worker.c. Elapsed time counts from
 * before the first fork to the last exit, like the harness's elapsed_s, so
 * cycles_per_s compares with summary.json's; loop_cycles_per_s leaves the
 * start-up out.
 *
 * Ownership: the parent never starts an interpreter (it only forks, waits
 * and adds up); each child owns its interpreter, its temporary name and
 * its half of one result pipe. Output: one JSON object on stdout.
 *
 * usage: pycstorm-ceiling -j N -d SECONDS --cache DIR --module NAME:V1,V2
 *        [--module ...] [--compile-share F] [--import-writes 0|1] [--seed N]
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "embed.h"
#include "proc.h"

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif

#define MAX_MODULES 8
#define MAX_VERSIONS 4
#define MAX_WORKERS 256
#define HEADER_SIZE 16

struct image {
	uint8_t *data;              /* header + marshalled code */
	size_t len;
	uint32_t mtime, size;       /* what the header names */
};

struct module {
	char *name;
	char *paths[MAX_VERSIONS];  /* source fixtures, v1.py ... */
	size_t nversions;
	char pyc[4096];             /* <cache>/__pycache__/<name>.<tag>.pyc */
	char tmp[4200];             /* pyc + "." + this worker's id */
	struct image images[MAX_VERSIONS];
};

struct options {
	unsigned jobs;
	double duration_s;
	double compile_share;
	int import_writes;
	uint64_t seed;
	const char *cache;
	struct module modules[MAX_MODULES];
	size_t nmodules;
};

/* What one child sends back when its loop is over. */
struct tally {
	uint64_t cycles;            /* compile + import cycles, as the harness counts */
	uint64_t writes, reads, missing, stale, corrupt, failed;
	uint64_t loop_ns;           /* time spent in the loop */
	uint64_t start_ns;          /* from the common start to the first cycle */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void usage_error(const char *what)
{
	(void)fprintf(stderr, "pycstorm-ceiling: %s\n"
		      "usage: pycstorm-ceiling -j N -d SECONDS --cache DIR --module NAME:V1,V2 "
		      "[--compile-share F] [--import-writes 0|1] [--seed N]\n", what);
	exit(2);
}

/* "NAME:PATH1,PATH2": the strings stay in argv. */
static void add_module(struct options *o, char *spec)
{
	struct module *m;
	char *colon = strchr(spec, ':'), *path, *save = NULL;

	if (!colon || o->nmodules == MAX_MODULES)
		usage_error("bad --module (NAME:V1,V2, at most 8)");
	m = &o->modules[o->nmodules++];
	*colon = '\0';
	m->name = spec;
	for (path = strtok_r(colon + 1, ",", &save); path && m->nversions < MAX_VERSIONS;
	     path = strtok_r(NULL, ",", &save))
		m->paths[m->nversions++] = path;
	if (!m->nversions)
		usage_error("a --module needs at least one source file");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->compile_share = 0.5;
	o->import_writes = 1;
	o->seed = 1;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "-j"))
			o->jobs = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "-d"))
			o->duration_s = strtod(v, NULL);
		else if (!strcmp(k, "--cache"))
			o->cache = v;
		else if (!strcmp(k, "--module"))
			add_module(o, argv[i + 1]);
		else if (!strcmp(k, "--compile-share"))
			o->compile_share = strtod(v, NULL);
		else if (!strcmp(k, "--import-writes"))
			o->import_writes = atoi(v);
		else if (!strcmp(k, "--seed"))
			o->seed = strtoull(v, NULL, 10);
		else
			usage_error("unknown option");
	}
	if (i != argc || !o->jobs || o->jobs > MAX_WORKERS || o->duration_s <= 0 ||
	    !o->cache || !o->nmodules || o->compile_share < 0 || o->compile_share > 1)
		usage_error("missing or bad options");
}

/* ---- one child ---------------------------------------------------------- */

/* The worker's own start (runners/worker/embed.c): isolated, no site, the
 * standard library of the interpreter it was built against. */
static int start_interpreter(void)
{
	char why[512];
	int rc = embed_start(why, sizeof(why));

	if (rc < 0)
		(void)fprintf(stderr, "pycstorm-ceiling: %s\n", why);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[size] = '\0';
			*len = (size_t)size;
		}
	}
	(void)fclose(f);
	return buf;
}

/* Compile and marshal every version of m behind a timestamp header. */
static int build_images(struct module *m, const char *cache, uint32_t magic, unsigned worker)
{
	const char *tag = PyImport_GetMagicTag();
	char source_path[4096];
	size_t v, len = 0;
	int rc = 0;

	(void)snprintf(source_path, sizeof(source_path), "%s/%s.py", cache, m->name);
	(void)snprintf(m->pyc, sizeof(m->pyc), "%s/__pycache__/%s.%s.pyc", cache, m->name, tag);
	/* One temporary name per worker and file, as importlib's id(path). */
	(void)snprintf(m->tmp, sizeof(m->tmp), "%s.%u", m->pyc, 0x7f0000u + worker * 16u);
	for (v = 0; v < m->nversions && rc == 0; v++) {
		char *text = slurp(m->paths[v], &len);
		PyObject *code = NULL, *body = NULL;
		struct image *im = &m->images[v];

		if (text)
			code = Py_CompileString(text, source_path, Py_file_input);
		if (code)
			body = PyMarshal_WriteObjectToString(code, Py_MARSHAL_VERSION);
		if (body) {
			im->mtime = 1700000000u + 86400u * (uint32_t)v;
			im->size = (uint32_t)len;
			im->len = HEADER_SIZE + (size_t)PyBytes_GET_SIZE(body);
			im->data = malloc(im->len);
		}
		if (im->data) {
			put_le32(im->data, magic);
			put_le32(im->data + 4, 0);
			put_le32(im->data + 8, im->mtime);
			put_le32(im->data + 12, im->size);
			memcpy(im->data + HEADER_SIZE, PyBytes_AS_STRING(body),
			       (size_t)PyBytes_GET_SIZE(body));
		} else {
			(void)fprintf(stderr, "pycstorm-ceiling: cannot build '%s'\n", m->paths[v]);
			PyErr_Clear();
			rc = -1;
		}
		Py_XDECREF(body);
		Py_XDECREF(code);
		free(text);
	}
	return rc;
}

/* py33-atomic: exclusive temporary, one unchecked write, close, rename. */
static int write_pyc(struct module *m, const struct image *im)
{
	int fd = open(m->tmp, O_EXCL | O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -1;
	if (write(fd, im->data, im->len) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(m->tmp, m->pyc) < 0)
		rc = -1;
	if (rc < 0)
		(void)unlink(m->tmp);
	return rc;
}

enum read_result { READ_OK, READ_MISSING, READ_STALE, READ_CORRUPT };

/* open, fstat, one read, close; the header as importlib checks it; unmarshal. */
static enum read_result read_pyc(const struct module *m, uint32_t magic, uint8_t **buf,
				 size_t *cap)
{
	struct stat st;
	enum read_result res = READ_STALE;
	uint8_t want[4];
	ssize_t n = -1;
	size_t v;
	int fd = open(m->pyc, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? READ_MISSING : READ_STALE;
	if (fstat(fd, &st) == 0) {
		if ((size_t)st.st_size > *cap) {
			free(*buf);
			*cap = (size_t)st.st_size;
			*buf = malloc(*cap);
		}
		if (*buf)
			n = read(fd, *buf, (size_t)st.st_size);
	}
	(void)close(fd);
	put_le32(want, magic);
	if (n < HEADER_SIZE || memcmp(*buf, want, 4) != 0 || (*buf)[4] | (*buf)[5] | (*buf)[6] | (*buf)[7])
		return READ_STALE;
	for (v = 0; v < m->nversions && res == READ_STALE; v++) {
		uint8_t stamp[8];
		put_le32(stamp, m->images[v].mtime);
		put_le32(stamp + 4, m->images[v].size);
		if (!memcmp(*buf + 8, stamp, 8))
			res = READ_OK;
	}
	if (res == READ_OK) {
		PyObject *obj = PyMarshal_ReadObjectFromString((const char *)*buf + HEADER_SIZE,
							       n - HEADER_SIZE);
		if (!obj || !PyCode_Check(obj))
			res = READ_CORRUPT;
		PyErr_Clear();
		Py_XDECREF(obj);
	}
	return res;
}

static void run_child(struct options *o, unsigned worker, int compile, uint64_t t0,
		      uint64_t deadline, int out)
{
	struct tally t = { 0 };
	uint64_t rng = o->seed * 0x9e3779b97f4a7c15ull + worker + 1, cycle, loop0;
	uint32_t magic;
	uint8_t *buf = NULL;
	size_t cap = 0, mi, v;
	int rc = 1;

	if (start_interpreter() < 0)
		_exit(77);
	magic = (uint32_t)PyImport_GetMagicNumber();
	for (mi = 0; mi < o->nmodules; mi++)
		if (build_images(&o->modules[mi], o->cache, magic, worker) < 0)
			goto out;
	loop0 = now_ns();
	t.start_ns = loop0 - t0;
	for (cycle = 0; now_ns() < deadline; cycle++) {
		struct module *m;
		mi = o->nmodules > 1 ? (size_t)(xorshift(&rng) % o->nmodules) : 0;
		m = &o->modules[mi];
		v = (size_t)((cycle + worker) % m->nversions);
		t.cycles++;
		if (compile) {
			t.writes++;
			t.failed += write_pyc(m, &m->images[v]) < 0;
			continue;
		}
		t.reads++;
		switch (read_pyc(m, magic, &buf, &cap)) {
		case READ_OK:
			continue;
		case READ_CORRUPT:
			t.corrupt++;
			continue;
		case READ_MISSING:
			t.missing++;
			break;
		case READ_STALE:
			t.stale++;
			break;
		}
		if (o->import_writes) {
			t.writes++;
			t.failed += write_pyc(m, &m->images[v]) < 0;
		}
	}
	t.loop_ns = now_ns() - loop0;
	rc = write(out, &t, sizeof(t)) == (ssize_t)sizeof(t) ? 0 : 1;
out:
	free(buf);
	if (Py_FinalizeEx() < 0)
		rc = 1;
	_exit(rc);
}

/* ---- the parent ---------------------------------------------------------- */

static int make_cache(const char *cache)
{
	char path[4200];

	(void)snprintf(path, sizeof(path), "%s/__pycache__", cache);
	if (mkdir(cache, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct tally sum = { 0 }, t;
	pid_t pids[MAX_WORKERS];
	unsigned w, compile_jobs, started = 0, bad = 0;
	uint64_t t0, deadline, elapsed;
	double loop_rate = 0, start_max = 0;
	int fds[2], status;

	parse_options(argc, argv, &o);
	if (make_cache(o.cache) < 0) {
		(void)fprintf(stderr, "pycstorm-ceiling: cannot create '%s/__pycache__': %s\n",
			      o.cache, strerror(errno));
		return 77;
	}
	if (pipe(fds) < 0) {
		perror("pycstorm-ceiling: pipe");
		return 99;
	}
	compile_jobs = (unsigned)(o.jobs * o.compile_share + 0.5);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(o.duration_s * 1e9);
	for (w = 0; w < o.jobs; w++) {
		pid_t pid = proc_fork();   /* dies with us, as the harness's workers do */
		if (pid == 0) {
			proc_unblock();
			(void)close(fds[0]);
			run_child(&o, w, w < compile_jobs, t0, deadline, fds[1]);
		}
		if (pid < 0)
			break;
		pids[started++] = pid;
	}
	(void)close(fds[1]);
	/* Tallies are smaller than PIPE_BUF: each arrives whole. */
	while (read(fds[0], &t, sizeof(t)) == (ssize_t)sizeof(t)) {
		sum.cycles += t.cycles;
		sum.writes += t.writes;
		sum.reads += t.reads;
		sum.missing += t.missing;
		sum.stale += t.stale;
		sum.corrupt += t.corrupt;
		sum.failed += t.failed;
		if (t.loop_ns)
			loop_rate += (double)t.cycles / ((double)t.loop_ns / 1e9);
		if ((double)t.start_ns / 1e9 > start_max)
			start_max = (double)t.start_ns / 1e9;
	}
	for (w = 0; w < started; w++)
		if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	elapsed = now_ns() - t0;
	(void)printf("{\"tool\": \"pycstorm-ceiling\", \"protocol\": \"py33-atomic\", "
		     "\"workers\": %u, \"compile_workers\": %u, \"duration_s\": %g, "
		     "\"elapsed_s\": %.6f, \"cycles\": %llu, \"writes\": %llu, \"reads\": %llu, "
		     "\"missing\": %llu, \"stale\": %llu, \"corrupt\": %llu, \"failed_writes\": %llu, "
		     "\"cycles_per_s\": %.1f, \"loop_cycles_per_s\": %.1f, "
		     "\"slowest_start_s\": %.6f, \"failed_workers\": %u}\n",
		     o.jobs, compile_jobs, o.duration_s, (double)elapsed / 1e9,
		     (unsigned long long)sum.cycles, (unsigned long long)sum.writes,
		     (unsigned long long)sum.reads, (unsigned long long)sum.missing,
		     (unsigned long long)sum.stale, (unsigned long long)sum.corrupt,
		     (unsigned long long)sum.failed, (double)sum.cycles / ((double)elapsed / 1e9),
		     loop_rate, start_max, bad + (o.jobs - started));
	return bad || started < o.jobs ? 1 : 0;
}
