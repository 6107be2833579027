/*
 * The 16-byte .pyc header (PEP 552), built and checked the way importlib's
 * _classify_pyc / _validate_timestamp_pyc / _validate_hash_pyc do it, in
 * the same order and with the same messages. No Python is needed here, so
 * the orchestrator, the worker and the fuzz targets share this code.
 */
#ifndef PYCSTORM_PYC_H
#define PYCSTORM_PYC_H

#include <stddef.h>
#include <stdint.h>

#define PYC_HEADER_SIZE 16

#define PYC_FLAG_HASH 0x1u          /* hash-based instead of mtime + size */
#define PYC_FLAG_CHECK_SOURCE 0x2u  /* hash-based pyc to be checked */

/* How a pyc may be invalidated: the three kinds importlib writes. */
enum pyc_mode { PYC_TIMESTAMP, PYC_CHECKED_HASH, PYC_UNCHECKED_HASH };

/* One version of a module's source, as a reader's stat() and hash see it. */
struct pyc_source {
	uint32_t mtime;
	uint32_t size;
	uint8_t hash[8];
};

enum pyc_verdict {
	PYC_VALID,        /* header passes: importlib goes on to unmarshal */
	PYC_BAD_MAGIC,    /* ImportError, caught: recompiled from source */
	PYC_SHORT,        /* EOFError on the header, caught: recompiled */
	PYC_BAD_FLAGS,    /* ImportError, caught: recompiled */
	PYC_STALE,        /* ImportError, caught: recompiled */
};

struct pyc_check {
	enum pyc_verdict verdict;
	int version;        /* index of the source version the header names */
	uint32_t magic;
	uint32_t flags;
	char why[160];      /* importlib's message for a rejected header */
};

void pyc_build_header(uint8_t out[PYC_HEADER_SIZE], uint32_t magic,
		      enum pyc_mode mode, const struct pyc_source *src);

/*
 * Check data against the expected magic and a set of source versions: the
 * header passes when it names any of them (during a package upgrade the
 * reader's stat() may see either version on disk). check_hash follows
 * _imp.check_hash_based_pycs == "default": a hash pyc is compared only when
 * its check_source flag is set. name is the module name for messages.
 */
void pyc_check_header(const uint8_t *data, size_t len, uint32_t magic,
		      const struct pyc_source *versions, size_t nversions,
		      const char *name, struct pyc_check *out);

uint32_t pyc_le32(const uint8_t *p);
void pyc_put_le32(uint8_t *p, uint32_t v);

/* The Python release a magic number belongs to ("3.11"), or NULL. */
const char *pyc_magic_release(uint32_t magic_word);

/* Where a timestamp pyc keeps its source mtime, by the layout its magic
 * names: 4 for 2.7 and 3.0-3.6 (magic, mtime[, size]), 8 for 3.7 and later
 * with flags 0. 0 for a hash-based pyc, an unknown magic or a short file. */
size_t pyc_mtime_offset(const uint8_t *data, size_t len);

#endif
