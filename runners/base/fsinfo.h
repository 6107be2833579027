/* Facts about the machine that go into every summary. */
#ifndef PYCSTORM_FSINFO_H
#define PYCSTORM_FSINFO_H

/* The filesystem type of path ("tmpfs", "ext4", ...), or "unknown". */
const char *fs_type_name(const char *path);
/* "Linux 6.1.0-18-amd64 x86_64", malloc'd. */
char *kernel_description(void);
/* Is the file open at fd on a local filesystem whose timestamps this
 * kernel sets from its own clock, to the nanosecond (tmpfs, ext4, xfs,
 * btrfs, f2fs, zfs, overlay, ramfs)? Not on NFS, whose server's clock
 * stamps them, nor on FAT's two-second ones. */
int fs_stamps_locally(int fd);
/* Where a fresh cache folder goes by default: tmpfs if there is one. */
const char *default_cache_parent(void);

#endif
