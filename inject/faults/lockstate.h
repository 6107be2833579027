/*
 * Windows sharing semantics, emulated with real kernel locks so they hold
 * across processes. A lock holder (holder.c) playing an antivirus scanner
 * opens a cache file and takes an OFD read lock on it. While it does:
 * renaming onto the file or unlinking it is refused (EACCES), or, with
 * share=delete, the unlink "succeeds" but leaves the name delete-pending:
 * a marker file in the run's state folder, and every open or create of the
 * name fails with EACCES until the holder lets go and completes the delete.
 */
#ifndef PYCSTORM_LOCKSTATE_H
#define PYCSTORM_LOCKSTATE_H

#include <stddef.h>

/* Is fd's file read-locked by some other open file description? */
int lockstate_fd_held(int fd);
/* The marker that says path is delete-pending. */
void lockstate_marker(char *buf, size_t size, const char *state_dir, const char *path);

#endif
