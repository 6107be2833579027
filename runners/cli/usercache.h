/*
 * What pycstorm keeps between its runs to spare work it has done before:
 * answers that depend only on inputs it can compare exactly (an
 * interpreter's probe, a judge's verdict on given bytes). They live under
 * $XDG_CACHE_HOME/pycstorm, else ~/.cache/pycstorm; with neither, or when
 * PYCSTORM_NO_CACHE is set, nothing is kept and every answer is worked out
 * again.
 *
 * An entry is one file named by a hash of its key, holding the whole key:
 * a lookup compares the key byte for byte, so a hash collision, a torn or
 * foreign file is a miss, never a wrong answer.
 */
#ifndef PYCSTORM_USERCACHE_H
#define PYCSTORM_USERCACHE_H

#include <stddef.h>
#include <stdint.h>

/* The value stored under key in the kind's folder ("probe", "verdict"),
 * malloc'd and NUL-terminated, its length in *len; NULL on a miss. */
char *usercache_get(const char *kind, const void *key, size_t keylen, size_t *len);
/* Store value under key; quietly does nothing when it cannot. */
void usercache_put(const char *kind, const void *key, size_t keylen, const void *value,
		   size_t len);

#endif
