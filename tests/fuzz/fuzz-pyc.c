/*
 * libFuzzer target: the .pyc header check the classifier and every reader
 * run before unmarshalling (magic, length, flags, mtime and size or hash),
 * and the magic-number table.
 */
#include "pyc.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pyc_source versions[2] = {
		{ .mtime = 1700000000u, .size = 448, .hash = { 1, 2, 3, 4, 5, 6, 7, 8 } },
		{ .mtime = 1700086400u, .size = 587, .hash = { 8, 7, 6, 5, 4, 3, 2, 1 } },
	};
	struct pyc_check check;

	pyc_check_header(data, size, 3495u | 0x0a0d0000u, versions, 2, "mod", &check);
	if (check.verdict == PYC_VALID && size < PYC_HEADER_SIZE)
		abort();   /* a header shorter than 16 bytes can never pass */
	if (size >= 4)
		(void)pyc_magic_release(pyc_le32(data));
	return 0;
}
