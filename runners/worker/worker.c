/*
 * pycstorm-worker: the embedded worker. One process hosts one interpreter
 * (started through the embedding API with an isolated PyConfig) and loops
 * compile or import cycles against one strategy's cache directory,
 * streaming a record per cycle to the orchestrator over its pipe.
 *
 * The orchestrator starts it with fork + exec before any interpreter
 * exists, and it never forks itself.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include "common.h"
#include "event.h"
#include "outcome.h"
#include "pyc.h"
#include "strategy.h"
#include "worker.h"
#include "embed.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;


struct version {
	char *source;              /* source text */
	size_t source_len;
	uint8_t *image;            /* header + marshalled code */
	size_t image_len;
};

struct module {
	char *name;
	char *source_path;         /* <cache>/<name>.py */
	char *pyc_path;            /* <cache>/__pycache__/<name>.<tag>.pyc */
	PyObject *loader;          /* SourceFileLoader, for native */
	size_t nversions;
	struct version versions[WORKER_MAX_VERSIONS];
	struct pyc_source stamps[WORKER_MAX_VERSIONS];
};

struct worker {
	struct worker_args args;
	const struct strategy_info *strategy;
	struct rng rng;                 /* the cycle's (module, version) choice */
	struct rng strategy_rng;        /* the strategies' random names, as stratlib.c's */
	FILE *trace;                    /* --trace: one line per cycle */
	uint32_t magic;
	const char *cache_tag;
	size_t nmodules;
	struct module modules[WORKER_MAX_MODULES];
	int evidence_full[OUTCOME_COUNT];
	/* the sample batch waiting to be sent */
	uint8_t batch[EVENT_MAX];
	size_t nsamples;
	uint64_t last_flush_ns;
	uint64_t (*inject_errors)(void);  /* failures the inject layer saw, if loaded */
	void (*inject_cycle)(uint64_t cycle);
};

static struct worker W;
static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- records to the orchestrator ------------------------------------ */

static void send_record(uint8_t kind, const struct event_hdr *proto,
			const void *text, size_t text_len)
{
	uint8_t buf[EVENT_MAX];
	struct event_hdr hdr = *proto;

	if (text_len > sizeof(buf) - sizeof(hdr))
		text_len = sizeof(buf) - sizeof(hdr);
	hdr.kind = kind;
	hdr.magic = EVENT_MAGIC;
	hdr.size = (uint16_t)(sizeof(hdr) + text_len);
	memcpy(buf, &hdr, sizeof(hdr));
	if (text_len)
		memcpy(buf + sizeof(hdr), text, text_len);
	/* One write: the record arrives whole or not at all. */
	(void)event_send(W.args.event_fd, buf, hdr.size);
}

static void flush_samples(void)
{
	struct event_hdr hdr = { 0 };

	if (W.nsamples) {
		hdr.kind = EV_SAMPLES;
		hdr.magic = EVENT_MAGIC;
		hdr.count = (uint32_t)W.nsamples;
		hdr.size = (uint16_t)(sizeof(hdr) + W.nsamples * sizeof(struct event_sample));
		memcpy(W.batch, &hdr, sizeof(hdr));
		(void)event_send(W.args.event_fd, W.batch, hdr.size);
		W.nsamples = 0;
	}
	W.last_flush_ns = now_ns();
}

/* Called by the inject library before it kills this process on purpose. */
__attribute__((visibility("default"))) void pycstorm_worker_flush(void)
{
	flush_samples();
}

static void add_sample(enum op op, enum outcome outcome, uint64_t latency)
{
	struct event_sample *s;

	if (W.nsamples == EVENT_SAMPLES_MAX)
		flush_samples();
	s = (struct event_sample *)(W.batch + sizeof(struct event_hdr)) + W.nsamples++;
	s->latency_lo = (uint32_t)latency;
	s->latency_hi = (uint16_t)(latency >> 32);
	s->op = (uint8_t)op;
	s->outcome = (uint8_t)outcome;
	if (now_ns() - W.last_flush_ns > WORKER_FLUSH_NS)
		flush_samples();
}

/* A cycle worth a line of its own: an error, with its text and evidence. */
static void send_cycle(enum op op, enum outcome outcome, size_t module,
		       uint64_t cycle, uint64_t latency, const char *error,
		       const char *evidence)
{
	struct event_hdr hdr = { .op = (uint8_t)op, .outcome = (uint8_t)outcome,
				 .module = (uint8_t)module, .cycle = cycle,
				 .latency_ns = latency };
	char text[EVENT_MAX - sizeof(struct event_hdr)];
	size_t elen = strlen(error) + 1;
	size_t vlen = evidence ? strlen(evidence) : 0;

	if (elen > sizeof(text) / 2)
		elen = sizeof(text) / 2;
	if (vlen > sizeof(text) - elen - 1)
		vlen = sizeof(text) - elen - 1;
	memcpy(text, error, elen);
	text[elen - 1] = '\0';
	memcpy(text + elen, evidence ? evidence : "", vlen);
	flush_samples();      /* keep the order of the worker's cycles */
	send_record(EV_CYCLE, &hdr, text, elen + vlen);
}

static void send_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void send_fatal(const char *fmt, ...)
{
	struct event_hdr hdr = { 0 };
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* The orchestrator reports it; stderr only when there is no one to tell. */
	if (W.args.event_fd >= 0)
		send_record(EV_FATAL, &hdr, text, strlen(text));
	else
		(void)fprintf(stderr, "pycstorm-worker: %s\n", text);
}

/* ---- the interpreter ------------------------------------------------- */

static int start_interpreter(void)
{
	char why[512];
	int rc = embed_start(why, sizeof(why));

	if (rc < 0)
		send_fatal("%s", why);
	return rc;
}

/* Compile and marshal one source version. */
static PyObject *compile_body(struct module *m, size_t v)
{
	PyObject *code = Py_CompileString(m->versions[v].source, m->source_path, Py_file_input);
	PyObject *body = code ? PyMarshal_WriteObjectToString(code, Py_MARSHAL_VERSION) : NULL;

	Py_XDECREF(code);
	return body;
}

/*
 * The marshalled code of a module version, compiled by the first worker of
 * this strategy and read back by the others: the bytes are the same (same
 * source, same path, same interpreter), and compiling was nine tenths of a
 * worker's start-up. Kept in <cache root>/.state/images, under a lock;
 * without that folder, each worker compiles for itself.
 */
static PyObject *shared_body(struct module *m, size_t v)
{
	char *root = xstrdup(W.args.cache_dir), *slash = strrchr(root, '/'), *dir, *path, *lock, *data;
	PyObject *body = NULL;
	size_t len;
	int fd;

	if (slash)
		*slash = '\0';
	dir = xasprintf("%s/.state/images", root);
	path = xasprintf("%s/%s-%s-v%zu-%u.marshal", dir, W.strategy->name, m->name, v + 1,
			 W.magic & 0xffff);
	lock = xasprintf("%s.lock", path);
	fd = mkdir_p(dir, 0755) == 0 ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
	free(dir);
	if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
		if (read_file(path, &data, &len) == 0) {
			body = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
			free(data);
		} else if ((body = compile_body(m, v)) != NULL) {
			(void)write_file_atomic(path, PyBytes_AsString(body),
						(size_t)PyBytes_Size(body));
		}
	}
	if (fd >= 0)
		(void)close(fd);
	free(lock);
	free(path);
	free(root);
	return body ? body : compile_body(m, v);
}

/* Compile one source version and marshal it behind a pyc header. */
static int build_image(struct module *m, size_t v, enum pyc_mode mode)
{
	struct version *ver = &m->versions[v];
	PyObject *body = NULL, *hash = NULL, *imp = NULL;
	char error[512];
	int rc = -1;

	body = shared_body(m, v);
	imp = body ? PyImport_ImportModule("_imp") : NULL;
	if (imp)
		hash = PyObject_CallMethod(imp, "source_hash", "ly#", (long)W.magic,
					   ver->source, (Py_ssize_t)ver->source_len);
	if (!hash || PyBytes_Size(hash) != 8) {
		embed_fetch_exception(error, sizeof(error));
		send_fatal("cannot compile %s version %zu: %s", m->name, v + 1, error);
		goto out;
	}
	memcpy(m->stamps[v].hash, PyBytes_AsString(hash), 8);
	ver->image_len = PYC_HEADER_SIZE + (size_t)PyBytes_Size(body);
	ver->image = xmalloc(ver->image_len);
	pyc_build_header(ver->image, W.magic, mode, &m->stamps[v]);
	memcpy(ver->image + PYC_HEADER_SIZE, PyBytes_AsString(body),
	       (size_t)PyBytes_Size(body));
	rc = 0;
out:
	Py_XDECREF(body);
	Py_XDECREF(hash);
	Py_XDECREF(imp);
	return rc;
}

static PyObject *make_loader(struct module *m)
{
	PyObject *bootstrap, *loader = NULL;

	bootstrap = PyImport_ImportModule("importlib._bootstrap_external");
	if (bootstrap)
		loader = PyObject_CallMethod(bootstrap, "SourceFileLoader", "ss",
					     m->name, m->source_path);
	Py_XDECREF(bootstrap);
	return loader;
}

/*
 * native: importlib's own SourceLoader._cache_bytecode, which computes the
 * mode from the source and calls set_data -> _write_atomic, swallowing any
 * OSError exactly as an import does.
 */
static enum write_status native_write(struct write_req *req)
{
	struct module *m = NULL;
	PyObject *data, *result;
	uint64_t failures_before = W.inject_errors ? W.inject_errors() : 0;
	size_t i;
	enum write_status status = WRITE_DONE;

	for (i = 0; i < W.nmodules && !m; i++)
		if (W.modules[i].pyc_path == req->path)
			m = &W.modules[i];
	data = PyBytes_FromStringAndSize((const char *)req->data, (Py_ssize_t)req->len);
	result = data && m ? PyObject_CallMethod(m->loader, "_cache_bytecode", "ssO",
						 m->source_path, req->path, data)
			   : NULL;
	if (!result) {
		embed_fetch_exception(req->error, sizeof(req->error));
		status = WRITE_RAISED;
	} else if (W.inject_errors && W.inject_errors() != failures_before) {
		/* set_data hid an OSError; the inject layer saw it happen. */
		(void)snprintf(req->error, sizeof(req->error),
			       "OSError swallowed by importlib set_data");
		status = WRITE_SWALLOWED;
	}
	Py_XDECREF(result);
	Py_XDECREF(data);
	return status;
}

/* ---- --strategy-file ---------------------------------------------------- */

static PyObject *file_write_fn;         /* write(path, data) from the file */
static struct strategy_info file_strategy;

/* A candidate fix under review: its write(path, data), called as is. */
static enum write_status file_write(struct write_req *req)
{
	PyObject *data, *result;
	enum write_status status = WRITE_DONE;

	data = PyBytes_FromStringAndSize((const char *)req->data, (Py_ssize_t)req->len);
	result = data ? PyObject_CallFunction(file_write_fn, "sO", req->path, data) : NULL;
	if (!result) {
		if (PyErr_ExceptionMatches(PyExc_PermissionError))
			req->err = EACCES;
		else if (PyErr_ExceptionMatches(PyExc_OSError))
			req->err = EIO;
		embed_fetch_exception(req->error, sizeof(req->error));
		status = WRITE_RAISED;
	}
	Py_XDECREF(result);
	Py_XDECREF(data);
	return status;
}

/* Run the file in a fresh namespace and take its write(); NULL and a
 * message when it cannot be used. */
static const struct strategy_info *load_strategy_file(const char *path)
{
	PyObject *runpy = NULL, *globals = NULL;
	const char *base = strrchr(path, '/');
	char error[512];

	runpy = PyImport_ImportModule("runpy");
	if (runpy)
		globals = PyObject_CallMethod(runpy, "run_path", "s", path);
	if (globals)
		file_write_fn = PyDict_GetItemString(globals, "write");
	if (!globals) {
		embed_fetch_exception(error, sizeof(error));
		send_fatal(EVENT_FATAL_BAD_INPUT "strategy file '%s' does not run: %s", path, error);
	} else if (!file_write_fn || !PyCallable_Check(file_write_fn)) {
		send_fatal(EVENT_FATAL_BAD_INPUT "strategy file '%s' defines no write(path, data)", path);
		file_write_fn = NULL;
	} else {
		Py_INCREF(file_write_fn);
		file_strategy.name = base ? base + 1 : path;
		file_strategy.summary = "a candidate fix from a Python file";
		file_strategy.source = path;
		file_strategy.file = path;
		file_strategy.write = file_write;
	}
	Py_XDECREF(globals);
	Py_XDECREF(runpy);
	return file_write_fn ? &file_strategy : NULL;
}

/* ---- setup ------------------------------------------------------------ */

static int load_module(struct module *m, const char *spec)
{
	char *copy = xstrdup(spec), *colon = strchr(copy, ':'), *path, *save = NULL;
	size_t v = 0;
	int rc = -1;

	if (!colon) {
		send_fatal("bad --module '%s': expected NAME:V1[,V2...]", spec);
		goto out;
	}
	*colon = '\0';
	m->name = xstrdup(copy);
	m->source_path = xasprintf("%s/%s.py", W.args.cache_dir, m->name);
	m->pyc_path = xasprintf("%s/__pycache__/%s.%s.pyc", W.args.cache_dir,
				m->name, W.cache_tag);
	for (path = strtok_r(colon + 1, ",", &save); path && v < WORKER_MAX_VERSIONS;
	     path = strtok_r(NULL, ",", &save), v++) {
		int e = read_file(path, &m->versions[v].source, &m->versions[v].source_len);
		if (e < 0) {
			send_fatal("cannot read '%s': %s", path, read_file_error(e));
			goto out;
		}
		m->stamps[v].mtime = worker_source_mtime(v);
		m->stamps[v].size = (uint32_t)m->versions[v].source_len;
		if (build_image(m, v, W.args.pyc_mode) < 0)
			goto out;
	}
	m->nversions = v;
	rc = v > 0 ? 0 : -1;
out:
	free(copy);
	return rc;
}

static int setup(void)
{
	size_t i;
	int rc = 0;

	W.magic = (uint32_t)PyImport_GetMagicNumber();
	W.cache_tag = PyImport_GetMagicTag();
	for (i = 0; i < W.args.nmodules && rc == 0; i++)
		rc = load_module(&W.modules[i], W.args.modules[i]);
	W.nmodules = i;
	if (rc == 0 && W.strategy == &strategy_native) {
		strategy_native_impl = native_write;
		for (i = 0; i < W.nmodules && rc == 0; i++) {
			W.modules[i].loader = make_loader(&W.modules[i]);
			if (!W.modules[i].loader) {
				char error[512];
				embed_fetch_exception(error, sizeof(error));
				send_fatal("cannot make a SourceFileLoader: %s", error);
				rc = -1;
			}
		}
	}
	if (rc == 0 && W.args.trace) {
		/* appended to: a replacement worker goes on where its
		 * predecessor stopped; line buffered, so a kill loses nothing */
		W.trace = fopen(W.args.trace, "ae");
		if (!W.trace) {
			send_fatal("cannot open the trace '%s': %s", W.args.trace, strerror(errno));
			rc = -1;
		} else
			(void)setvbuf(W.trace, NULL, _IOLBF, 0);
	}
	W.inject_errors = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "pycstorm_inject_failures");
	W.inject_cycle = (void (*)(uint64_t))dlsym(RTLD_DEFAULT, "pycstorm_inject_cycle");
	/* ld.so skips a preload it cannot load (libfiu missing, say) with only a
	 * warning: faults would silently not happen. */
	if (rc == 0 && getenv("PYCSTORM_FAULTS") && !W.inject_cycle) {
		send_fatal("faults are armed but the inject library is not loaded "
			   "(is libfiu installed? Debian: libfiu0)");
		rc = -1;
	}
	return rc;
}

static void say_hello(void)
{
	struct event_hdr hdr = { 0 };
	char text[1024];

	(void)snprintf(text, sizeof(text),
		       "runner=embedded\npython_version=%s\npython_executable=%s\n"
		       "pid=%ld\nmagic=%u\ncache_tag=%s\n",
		       Py_GetVersion(), PYTHON_EXE, (long)getpid(), W.magic & 0xffff,
		       W.cache_tag);
	send_record(EV_HELLO, &hdr, text, strlen(text));
}

/* ---- cycles ----------------------------------------------------------- */

static enum outcome write_outcome(enum write_status status, int err)
{
	if (status == WRITE_DONE)
		return OUTCOME_OK;
	if (status == WRITE_SWALLOWED)
		return OUTCOME_STALE;
	return err == EACCES || err == EPERM ? OUTCOME_PERMISSION_ERROR
					     : OUTCOME_OTHER_ERROR;
}

static enum outcome write_cycle(enum op op, size_t mi, size_t v, uint64_t cycle)
{
	struct module *m = &W.modules[mi];
	struct write_req req = {
		.path = m->pyc_path, .data = m->versions[v].image,
		.len = m->versions[v].image_len, .mode = 0644,
		.tmp_id = W.args.tmp_id, .rng = &W.strategy_rng,
		.retry_budget_ns = W.args.retry_budget_ns,
	};
	uint64_t t0 = now_ns(), latency;
	enum write_status status;
	enum outcome outcome;

	status = W.strategy->write(&req);
	latency = now_ns() - t0;
	outcome = write_outcome(status, req.err);
	if (req.error[0])
		send_cycle(op, outcome, mi, cycle, latency, req.error, NULL);
	else
		add_sample(op, outcome, latency);
	return outcome;
}

/* Read the whole cache file; 0, or read_file's error. */
static int read_pyc(const char *path, uint8_t **data, size_t *len)
{
	char *buf = NULL;
	int rc = read_file(path, &buf, len);

	*data = (uint8_t *)buf;
	return rc;
}

static int write_evidence_file(const char *path, const void *data, size_t len,
			       uint32_t mtime)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
	int rc = 0;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	if (rc == 0 && futimens(fd, times) < 0)
		rc = -errno;
	(void)close(fd);
	return rc;
}

/*
 * Keep the bytes a reader failed on, with the source version its header
 * names (same size, same mtime), so `python3 -c 'import <name>'` in that
 * folder fails the same way. Slots are claimed with mkdir, which is atomic
 * across workers, so each class keeps only the first few.
 */
static void keep_evidence(enum outcome outcome, struct module *m, int version,
			  const uint8_t *data, size_t len, uint64_t cycle,
			  const char *error, char *where, size_t where_size)
{
	char *slot = NULL, *dir = NULL, *path = NULL;
	const struct version *src = &m->versions[version < 0 ? 0 : version];
	uint32_t mtime = m->stamps[version < 0 ? 0 : version].mtime;
	unsigned k;

	where[0] = '\0';
	if (!W.args.evidence_dir || W.evidence_full[outcome])
		return;
	for (k = 0; k < W.args.evidence_max && !dir; k++) {
		free(slot);
		slot = xasprintf("%s/.slots/%s-%s-%u", W.args.evidence_dir,
				 W.strategy->name, outcome_name(outcome), k);
		if (mkdir(slot, 0755) == 0)
			dir = xasprintf("%s/%s-%s-%u-w%u-c%llu", W.args.evidence_dir,
					W.strategy->name, outcome_name(outcome), k,
					W.args.worker, (unsigned long long)cycle);
	}
	if (!dir) {
		W.evidence_full[outcome] = 1;
		goto out;
	}
	path = xasprintf("%s/__pycache__", dir);
	if (mkdir_p(path, 0755) < 0)
		goto out;
	free(path);
	path = xasprintf("%s/%s.py", dir, m->name);
	(void)write_evidence_file(path, src->source, src->source_len, mtime);
	free(path);
	path = xasprintf("%s/__pycache__/%s.%s.pyc", dir, m->name, W.cache_tag);
	(void)write_evidence_file(path, data, len, mtime);
	free(path);
	path = xasprintf("%s/README", dir);
	{
		char *info = xasprintf(
			"strategy: %s\nclass: %s\nerror: %s\nfound by: worker %u, cycle %llu, seed %llu\n"
			"check: import %s\n"
			"reproduce: cd into this folder and run: python3 -B -c 'import %s'\n",
			W.strategy->name, outcome_name(outcome), error, W.args.worker,
			(unsigned long long)cycle, (unsigned long long)W.args.seed, m->name, m->name);
		(void)write_evidence_file(path, info, strlen(info), (uint32_t)(wall_ns() / 1000000000ull));
		free(info);
	}
	(void)snprintf(where, where_size, "%s", strrchr(dir, '/') + 1);
out:
	free(slot);
	free(dir);
	free(path);
}

/* ---- the run step ---------------------------------------------------- */

/* NAME beside this program (bin/ or the install's lib folder); malloc'd. */
static char *program_file(const char *name)
{
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return xasprintf("%s/%s", exe, name);
}

/* The hot path's whole cost: is data one of the module's own images? */
static int is_an_image(const struct module *m, const uint8_t *data, size_t len)
{
	size_t v;

	for (v = 0; v < m->nversions; v++)
		if (m->versions[v].image_len == len && !memcmp(m->versions[v].image, data, len))
			return 1;
	return 0;
}

/* Our environment without the inject library and pycstorm's variables:
 * the judge must read the file as a user's interpreter would. */
static char **judge_environment(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (n = 0; environ[n]; n++)
		if (strncmp(environ[n], "LD_PRELOAD=", 11) && strncmp(environ[n], "PYCSTORM_", 9))
			env[k++] = environ[n];
	return env;
}

/* "class: X" and "error: Y" from the judge's report. */
static enum outcome judge_report(char *report, char *error, size_t size)
{
	char *line, *save = NULL;
	int found = -1;

	for (line = strtok_r(report, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "class: ", 7))
			found = outcome_from_name(line + 7);
		else if (!strncmp(line, "error: ", 7))
			(void)snprintf(error, size, "%s", line + 7);
	}
	if (found < 0)
		(void)snprintf(error, size, "the judge gave no verdict (%s)", error[0] ? error : "no output");
	return found < 0 ? OUTCOME_OTHER_ERROR : (enum outcome)found;
}

/* The judge names its scratch copy; the user knows the cache by its place. */
static void name_the_cache(char *error, size_t size, const char *scratch)
{
	char *at = strstr(error, scratch), *rest;

	if (!at)
		return;
	rest = xstrdup(at + strlen(scratch));
	(void)snprintf(at, size - (size_t)(at - error), "%s%s", W.args.cache_dir, rest);
	free(rest);
}

/* An empty batch: a record that says this worker is alive. */
static void send_heartbeat(void)
{
	struct event_hdr hdr = { .kind = EV_SAMPLES };

	flush_samples();
	send_record(EV_SAMPLES, &hdr, NULL, 0);
}

/* All the judge prints on fd, NUL-terminated in buf. The judge may take
 * seconds (a slow or hanging import, up to its own bound): meanwhile
 * this worker says it is alive, or the orchestrator kills it as hung. */
static size_t read_judge(int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n = 1;
	int ready;

	while (n != 0 && got < size - 1) {
		ready = poll(&pfd, 1, WORKER_HEARTBEAT_MS);
		if (ready == 0)
			send_heartbeat();
		n = ready > 0 ? read(fd, buf + got, size - 1 - got) : -1;
		if (n < 0 && errno != EINTR && ready != 0)
			break;
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/*
 * The run step. A reader accepted bytes that are none of the module's
 * images: damage that unmarshalled (a zero block in the bytecode, a torn
 * v1/v2 mix). Only running the code tells whether an import survives it,
 * and running it can take an interpreter down, so the file goes to the
 * judge (pycstorm-judge.py --run) in a fresh process of the interpreter
 * this worker embeds, started with posix_spawn: the embedded interpreter
 * is never forked. The file is laid out with the source version its
 * header names in a scratch folder under the cache root's .state, out of
 * the faults' reach. Returns the judge's class (ok when the code runs),
 * with its evidence in error.
 */
static enum outcome judge_run(const struct module *m, int version, const uint8_t *data,
			      size_t len, char *error, size_t size)
{
	const struct version *src = &m->versions[version < 0 ? 0 : version];
	uint32_t mtime = m->stamps[version < 0 ? 0 : version].mtime;
	char *root = xstrdup(W.args.cache_dir), *slash = strrchr(root, '/');
	char *dir, *sub, *py, *pyc, *judge = program_file("pycstorm-judge.py");
	char **env = judge_environment(), report[8192];
	posix_spawn_file_actions_t fa;
	enum outcome outcome = OUTCOME_OTHER_ERROR;
	int pipefd[2] = { -1, -1 }, status = 0, rc;
	pid_t pid;

	if (slash)
		*slash = '\0';
	dir = xasprintf("%s/.state/judge-%s-w%u", root, W.strategy->name, W.args.worker);
	sub = xasprintf("%s/__pycache__", dir);
	py = xasprintf("%s/%s.py", dir, m->name);
	pyc = xasprintf("%s/%s.%s.pyc", sub, m->name, W.cache_tag);
	error[0] = '\0';
	if (mkdir_p(sub, 0755) < 0 || write_evidence_file(py, src->source, src->source_len, mtime) < 0 ||
	    write_evidence_file(pyc, data, len, mtime) < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		(void)snprintf(error, size, "cannot lay out '%s' for the judge: %s", dir, strerror(errno));
		goto out;
	}
	{
		char *const argv[] = { (char *)PYTHON_EXE, (char *)"-E", (char *)"-s", judge,
				       (char *)"--run", pyc, NULL };

		(void)posix_spawn_file_actions_init(&fa);
		(void)posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		(void)posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		if (W.args.event_fd > 2)
			(void)posix_spawn_file_actions_addclose(&fa, W.args.event_fd);
		rc = posix_spawn(&pid, PYTHON_EXE, &fa, NULL, argv, env);
		(void)posix_spawn_file_actions_destroy(&fa);
	}
	(void)close(pipefd[1]);
	if (rc != 0) {
		(void)snprintf(error, size, "cannot start the judge %s: %s", PYTHON_EXE, strerror(rc));
		goto out;
	}
	(void)read_judge(pipefd[0], report, sizeof(report));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		(void)snprintf(error, size, "the judge %s exited with status %d", judge,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	else if ((outcome = judge_report(report, error, size)) == OUTCOME_OK)
		error[0] = '\0';   /* it runs: nothing to report */
	else
		name_the_cache(error, size, dir);
out:
	if (pipefd[0] >= 0)
		(void)close(pipefd[0]);
	(void)remove_tree(dir);
	free(env);
	free(judge);
	free(pyc);
	free(py);
	free(sub);
	free(dir);
	free(root);
	return outcome;
}

static enum outcome read_cycle(enum op op, size_t mi, uint64_t cycle)
{
	struct module *m = &W.modules[mi];
	struct pyc_check check;
	uint8_t *data = NULL;
	size_t len = 0;
	char error[512] = "", evidence[256] = "";
	uint64_t t0 = now_ns(), latency;
	enum outcome outcome;
	int e;

	e = read_pyc(m->pyc_path, &data, &len);
	if (e == -ENOENT)
		outcome = OUTCOME_MISSING;
	else if (e == READ_NOT_REGULAR || e == READ_TOO_LARGE) {
		/* Only a strategy file can leave this in the cache's place;
		 * the worker does not read it, and counts a miss. */
		outcome = OUTCOME_STALE;
		(void)snprintf(error, sizeof(error), "OSError: '%s': %s (not read by pycstorm)",
			       m->pyc_path, read_file_error(e));
	} else if (e) {
		/* importlib's get_code ignores an OSError reading the cache and
		 * compiles from source: a miss, not a failure. */
		outcome = OUTCOME_STALE;
		(void)snprintf(error, sizeof(error), "%s: [Errno %d] %s: '%s' (ignored by importlib)",
			       e == -EACCES || e == -EPERM ? "PermissionError" : "OSError", -e,
			       strerror(-e), m->pyc_path);
	} else {
		pyc_check_header(data, len, W.magic, m->stamps, m->nversions,
				 m->name, &check);
		outcome = check.verdict == PYC_VALID
				  ? embed_unmarshal(data, len, m->pyc_path, error, sizeof(error))
				  : OUTCOME_STALE;
	}
	latency = now_ns() - t0;
	/* a reader's latency is the read; the run step comes after it */
	if (outcome == OUTCOME_OK && !is_an_image(m, data, len))
		outcome = judge_run(m, check.version, data, len, error, sizeof(error));
	if (outcome_leaves_evidence(outcome))
		keep_evidence(outcome, m, check.version, data, len, cycle, error,
			      evidence, sizeof(evidence));
	if (error[0])
		send_cycle(op, outcome, mi, cycle, latency, error, evidence);
	else
		add_sample(op, outcome, latency);
	free(data);
	return outcome;
}

/* --trace: "CYCLE OP MODULE VERSION OUTCOME", the driver's format too;
 * a recover cycle reads whatever is there, so its version is "-". */
static void trace_cycle(uint64_t cycle, enum op op, size_t mi, size_t v, enum outcome outcome)
{
	char version[24] = "-";

	if (op != OP_RECOVER)
		(void)snprintf(version, sizeof(version), "v%zu", v + 1);
	(void)fprintf(W.trace, "%llu %s %s %s %s\n", (unsigned long long)cycle, op_name(op),
		      W.modules[mi].name, version, outcome_name(outcome));
}

static void run_cycles(void)
{
	uint64_t cycle;
	size_t mi, v;
	enum outcome outcome;

	for (cycle = 0; !stop_requested; cycle++) {
		if (W.args.iterations && cycle >= W.args.iterations)
			break;
		if (W.args.deadline_ns && now_ns() >= W.args.deadline_ns)
			break;
		if (W.inject_cycle)
			W.inject_cycle(cycle);
		if (W.args.role == ROLE_RECOVER) {
			/* every cache file once, in order, writing nothing */
			if (cycle >= W.nmodules)
				break;
			outcome = read_cycle(OP_RECOVER, (size_t)cycle, cycle);
			if (W.trace)
				trace_cycle(cycle, OP_RECOVER, (size_t)cycle, 0, outcome);
			continue;
		}
		/* The driver draws the same numbers (Rng in driver.py). */
		mi = (size_t)rng_range(&W.rng, 0, W.nmodules - 1);
		v = (size_t)((cycle + W.args.worker) % W.modules[mi].nversions);
		if (W.args.role == ROLE_COMPILE) {
			outcome = write_cycle(OP_COMPILE, mi, v, cycle);
			if (W.trace)
				trace_cycle(cycle, OP_COMPILE, mi, v, outcome);
			continue;
		}
		outcome = read_cycle(OP_IMPORT, mi, cycle);
		if (W.trace)
			trace_cycle(cycle, OP_IMPORT, mi, v, outcome);
		/* An import that finds no usable cache writes one, like importlib. */
		if (W.args.import_writes &&
		    (outcome == OUTCOME_STALE || outcome == OUTCOME_MISSING)) {
			outcome = write_cycle(OP_WRITE, mi, v, cycle);
			if (W.trace)
				trace_cycle(cycle, OP_WRITE, mi, v, outcome);
		}
	}
}

/*
 * Workloads other than plain .pyc caches (JSON, pickle, packages) are the
 * driver's (driver.py), the same code the interpreter runner uses. Here it
 * runs inside the embedded interpreter, and reaches the C strategies
 * through this binary's exported symbols (stratlib.c).
 */
static int run_driver(int argc, char **argv)
{
	char why[512], error[1024];
	char *driver = program_file("pycstorm-driver.py");
	PyObject *runpy = NULL, *globals = NULL, *args = NULL, *result = NULL;
	int i, rc = EXIT_INTERNAL;

	if (embed_start(why, sizeof(why)) < 0) {
		send_fatal("%s", why);
		free(driver);
		return EXIT_SKIP;
	}
	runpy = PyImport_ImportModule("runpy");
	if (runpy)
		globals = PyObject_CallMethod(runpy, "run_path", "sOs", driver, Py_None,
					      "pycstorm_driver");
	args = globals ? PyList_New(0) : NULL;
	for (i = 1; args && i < argc; i++) {
		PyObject *s = PyUnicode_DecodeFSDefault(argv[i]);
		if (!s || PyList_Append(args, s) < 0)
			Py_CLEAR(args);
		Py_XDECREF(s);
	}
	if (args) {
		PyObject *extra[] = { PyUnicode_FromString("--runner"), PyUnicode_FromString("embedded") };
		for (i = 0; i < 2; i++) {
			if (extra[i])
				(void)PyList_Append(args, extra[i]);
			Py_XDECREF(extra[i]);
		}
		result = PyObject_CallFunctionObjArgs(PyDict_GetItemString(globals, "main"), args, NULL);
	}
	if (result && PyLong_Check(result))
		rc = (int)PyLong_AsLong(result);
	else if (!result) {
		embed_fetch_exception(error, sizeof(error));
		send_fatal("the driver failed: %s", error);
	}
	Py_XDECREF(result);
	Py_XDECREF(args);
	Py_XDECREF(globals);
	Py_XDECREF(runpy);
	free(driver);
	if (Py_FinalizeEx() < 0 && rc == EXIT_OK)
		rc = EXIT_INTERNAL;
	return rc;
}

int main(int argc, char **argv)
{
	struct event_hdr bye = { 0 };
	struct sigaction sa = { .sa_handler = on_term };
	int rc = EXIT_INTERNAL;

	progname = "pycstorm-worker";
	if (worker_parse_args(argc, argv, &W.args) < 0)
		return EXIT_USAGE;
	W.strategy = strategy_find(W.args.strategy);
	if (strcmp(W.args.cache_kind, "pyc") || (W.strategy && W.strategy->workload))
		return run_driver(argc, argv);
	if (!W.strategy && strncmp(W.args.strategy, "file:", 5) != 0) {
		send_fatal("unknown strategy '%s'", W.args.strategy);
		return EXIT_USAGE;
	}
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGINT, SIG_IGN);   /* the orchestrator decides when we stop */
	(void)signal(SIGPIPE, SIG_IGN);
	/* Two streams from one seed, as in the driver: the cycle's choices
	 * never depend on how many random names a strategy drew. */
	rng_init(&W.rng, W.args.seed);
	rng_init(&W.strategy_rng, W.args.seed);
	W.last_flush_ns = now_ns();
	if (start_interpreter() < 0)
		return EXIT_SKIP;
	if (!W.strategy)
		W.strategy = load_strategy_file(W.args.strategy + 5);
	if (W.strategy && setup() == 0) {
		say_hello();
		/* -d counts from here: a worker that took long to start (a
		 * loaded machine, a sanitizer build) still gets its full time. */
		if (W.args.duration_ns && !W.args.deadline_ns)
			W.args.deadline_ns = now_ns() + W.args.duration_ns;
		run_cycles();
		flush_samples();
		if (W.trace && fclose(W.trace) != 0)
			send_fatal("cannot write the trace '%s': %s", W.args.trace, strerror(errno));
		send_record(EV_BYE, &bye, NULL, 0);
		rc = EXIT_OK;
	}
	if (Py_FinalizeEx() < 0 && rc == EXIT_OK)
		rc = EXIT_INTERNAL;
	return rc;
}
