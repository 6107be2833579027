/*
 * Windows sharing semantics, emulated with real kernel locks so they hold
 * across processes. A lock holder (holder.c) playing an antivirus scanner
 * opens a cache file and takes an OFD read lock on it. While it does:
 * renaming onto the file or unlinking it is refused (EACCES), or, with
 * share=delete, the unlink "succeeds" but leaves the name delete-pending:
 * a marker file in the run's state folder, and every open or create of the
 * name fails with EACCES until the holder lets go and completes the delete.
 *
 * A scanner also opens a file right after the program that wrote it closes
 * it, and a rename of that file then fails too when the scanner does not
 * share delete access. A holder cannot win that race from outside, so the
 * inject library takes the lock itself at close and hands the locked
 * descriptor to the holders over a datagram socket (SCM_RIGHTS); the lock
 * lives with the open file description, so the holder now holds it.
 */
#ifndef PYCSTORM_LOCKSTATE_H
#define PYCSTORM_LOCKSTATE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The most bytes of a path sent along with a handed-over descriptor. */
#define LOCKSTATE_GRAB_PATH_MAX 4096

/* Is fd's file read-locked by some other open file description? */
int lockstate_fd_held(int fd);
/* The marker that says path is delete-pending. */
void lockstate_marker(char *buf, size_t size, const char *state_dir, const char *path);
/*
 * Where the holders listen for handed-over descriptors: an abstract unix
 * address named after the state folder's resolved path, so every process
 * of one run finds the same one, two runs never share one, and no file is
 * made for it. 0, or -1 when state_dir cannot be resolved.
 */
int lockstate_grab_address(struct sockaddr_un *addr, socklen_t *len, const char *state_dir);
/*
 * Send fd (locked by the caller), and the path it was opened by, to
 * whichever holder of state_dir's run reads next; 0 when it was sent.
 * Never waits: a full queue or no holder is -1, and the caller's close
 * then drops the lock.
 */
int lockstate_hand_over(int fd, const char *path, const char *state_dir);

#endif
