/*
 * The "temporary file, then rename over the cache" protocol that Python 3.3+
 * importlib, mypy and most later fixes share. The strategies differ only in
 * how they write the body, whether they fsync, how they retry the rename and
 * whether a failure is raised or swallowed; each states its choice in an
 * atomic_protocol and calls atomic_write.
 */
#ifndef PYCSTORM_ATOMIC_H
#define PYCSTORM_ATOMIC_H

#include "strategy.h"

enum atomic_body {
	BODY_ONE_WRITE,      /* one write(), result ignored (3.3 - 3.13.0) */
	BODY_CHECKED,        /* one write(), a short count is an error (gh-126606) */
	BODY_LOOP,           /* loop until everything is written (gh-141930) */
};

enum atomic_tmp {
	TMP_ID,              /* "{path}.{id(path)}" as importlib */
	TMP_RANDOM,          /* a random suffix, as mypy and tempfile */
};

struct atomic_protocol {
	enum atomic_body body;
	enum atomic_tmp tmp;
	int fsync_file;      /* fsync the temporary file before the rename */
	int fsync_dir;       /* fsync the directory after the rename */
	int retry_replace;   /* back off and retry a rename refused with EACCES/EPERM/EBUSY */
	int swallow;         /* give up quietly instead of raising */
};

enum write_status atomic_write(struct write_req *req,
			       const struct atomic_protocol *proto);

#endif
