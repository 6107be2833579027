/* Shared by the embedded worker and the classifier; see embed.c. */
#ifndef PYCSTORM_EMBED_H
#define PYCSTORM_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

/* Start an isolated interpreter with bytecode writing on; 0, or -1 and why. */
int embed_start(char *why, size_t whylen);
/* Take the pending exception as "Type: message" and clear it. */
void embed_fetch_exception(char *buf, size_t size);
/* Unmarshal data[16:] as importlib does: ok, eof, bad_marshal or other_error,
 * with the exception text in error. */
enum outcome embed_unmarshal(const uint8_t *data, size_t len, const char *path,
			     char *error, size_t size);

#endif
