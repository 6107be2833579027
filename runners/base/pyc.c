/*
 * .pyc header handling; see pyc.h. The order of the checks matters: it is
 * importlib's, so a file that is both short and of the wrong magic gets the
 * same message here as in the interpreter.
 */
#include "pyc.h"

#include <stdio.h>
#include <string.h>

uint32_t pyc_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void pyc_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void pyc_build_header(uint8_t out[PYC_HEADER_SIZE], uint32_t magic,
		      enum pyc_mode mode, const struct pyc_source *src)
{
	uint32_t flags = 0;

	if (mode == PYC_CHECKED_HASH)
		flags = PYC_FLAG_HASH | PYC_FLAG_CHECK_SOURCE;
	else if (mode == PYC_UNCHECKED_HASH)
		flags = PYC_FLAG_HASH;
	pyc_put_le32(out, magic);
	pyc_put_le32(out + 4, flags);
	if (mode == PYC_TIMESTAMP) {
		pyc_put_le32(out + 8, src->mtime);
		pyc_put_le32(out + 12, src->size);
	} else {
		memcpy(out + 8, src->hash, 8);
	}
}

/* Python's repr() of a short bytes object, for importlib's magic message. */
static void bytes_repr(char *buf, size_t size, const uint8_t *p, size_t n)
{
	size_t used, i;
	int w;
	/* Python quotes with ' unless the bytes hold a ' and no ". */
	char quote = memchr(p, '\'', n) && !memchr(p, '"', n) ? '"' : '\'';

	used = (size_t)snprintf(buf, size, "b%c", quote);
	for (i = 0; i < n && used < size; i++) {
		if (p[i] == '\\' || p[i] == (uint8_t)quote)
			w = snprintf(buf + used, size - used, "\\%c", p[i]);
		else if (p[i] == '\t')
			w = snprintf(buf + used, size - used, "\\t");
		else if (p[i] == '\n')
			w = snprintf(buf + used, size - used, "\\n");
		else if (p[i] == '\r')
			w = snprintf(buf + used, size - used, "\\r");
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			w = snprintf(buf + used, size - used, "\\x%02x", p[i]);
		else
			w = snprintf(buf + used, size - used, "%c", p[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	if (used < size)
		(void)snprintf(buf + used, size - used, "%c", quote);
}

static int find_version(const uint8_t *data, uint32_t flags,
			const struct pyc_source *versions, size_t nversions)
{
	size_t i;
	int found = -1;

	for (i = 0; i < nversions && found < 0; i++) {
		if (flags & PYC_FLAG_HASH) {
			if (memcmp(data + 8, versions[i].hash, 8) == 0)
				found = (int)i;
		} else if (pyc_le32(data + 8) == versions[i].mtime &&
			   pyc_le32(data + 12) == versions[i].size) {
			found = (int)i;
		}
	}
	return found;
}

void pyc_check_header(const uint8_t *data, size_t len, uint32_t magic,
		      const struct pyc_source *versions, size_t nversions,
		      const char *name, struct pyc_check *out)
{
	uint8_t want[4];
	char shown[64];

	memset(out, 0, sizeof(*out));
	out->version = -1;
	pyc_put_le32(want, magic);
	if (len >= 4)
		out->magic = pyc_le32(data);
	if (len < 4 || memcmp(data, want, 4) != 0) {
		bytes_repr(shown, sizeof(shown), data, len < 4 ? len : 4);
		out->verdict = PYC_BAD_MAGIC;
		(void)snprintf(out->why, sizeof(out->why),
			       "bad magic number in '%s': %s", name, shown);
		return;
	}
	if (len < PYC_HEADER_SIZE) {
		out->verdict = PYC_SHORT;
		(void)snprintf(out->why, sizeof(out->why),
			       "reached EOF while reading pyc header of '%s'", name);
		return;
	}
	out->flags = pyc_le32(data + 4);
	if (out->flags & ~(PYC_FLAG_HASH | PYC_FLAG_CHECK_SOURCE)) {
		out->verdict = PYC_BAD_FLAGS;
		(void)snprintf(out->why, sizeof(out->why),
			       "invalid flags %u in '%s'", out->flags, name);
		return;
	}
	/* An unchecked hash pyc is trusted as it stands, like importlib does. */
	if ((out->flags & PYC_FLAG_HASH) && !(out->flags & PYC_FLAG_CHECK_SOURCE)) {
		out->version = find_version(data, out->flags, versions, nversions);
		out->verdict = PYC_VALID;
		return;
	}
	out->version = find_version(data, out->flags, versions, nversions);
	if (out->version < 0) {
		out->verdict = PYC_STALE;
		if (out->flags & PYC_FLAG_HASH)
			(void)snprintf(out->why, sizeof(out->why),
				       "hash in bytecode doesn't match hash of source '%s'", name);
		else
			(void)snprintf(out->why, sizeof(out->why),
				       "bytecode is stale for '%s'", name);
		return;
	}
	out->verdict = PYC_VALID;
}

/* Final magic numbers of each release; pre-releases sit just below them. */
static const struct { uint16_t lo, hi; const char *release; } magic_table[] = {
	{ 62211, 62211, "2.7" }, { 3000, 3131, "3.0" }, { 3141, 3151, "3.1" },
	{ 3160, 3180, "3.2" },   { 3190, 3230, "3.3" }, { 3250, 3310, "3.4" },
	{ 3320, 3351, "3.5" },   { 3360, 3379, "3.6" }, { 3390, 3394, "3.7" },
	{ 3400, 3413, "3.8" },   { 3420, 3425, "3.9" }, { 3430, 3439, "3.10" },
	{ 3450, 3495, "3.11" },  { 3500, 3531, "3.12" }, { 3550, 3571, "3.13" },
	{ 3600, 3627, "3.14" },  { 3650, 3699, "3.15" },
};

const char *pyc_magic_release(uint32_t magic_word)
{
	uint16_t number = (uint16_t)(magic_word & 0xffff);
	const char *found = NULL;
	size_t i;

	if ((magic_word >> 16) != 0x0a0d)
		return NULL;
	for (i = 0; i < sizeof(magic_table) / sizeof(magic_table[0]) && !found; i++)
		if (number >= magic_table[i].lo && number <= magic_table[i].hi)
			found = magic_table[i].release;
	return found;
}

size_t pyc_mtime_offset(const uint8_t *data, size_t len)
{
	const char *release = len >= 16 ? pyc_magic_release(pyc_le32(data)) : NULL;
	size_t offset = 0;

	if (release && (!strcmp(release, "2.7") || (data[0] | data[1] << 8) < 3390))
		offset = 4;
	else if (release && pyc_le32(data + 4) == 0)
		offset = 8;
	return offset;
}
