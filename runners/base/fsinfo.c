/* Machine facts; see fsinfo.h. */
#include "fsinfo.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

/* local: this kernel stamps its files' times, to the nanosecond. */
static const struct { unsigned long magic; const char *name; int local; } fs_names[] = {
	{ 0x01021994, "tmpfs", 1 },   { 0xEF53, "ext4", 1 },        { 0x58465342, "xfs", 1 },
	{ 0x9123683E, "btrfs", 1 },   { 0x794C7630, "overlay", 1 }, { 0x6969, "nfs", 0 },
	{ 0x65735546, "fuse", 0 },    { 0x2FC12FC1, "zfs", 1 },     { 0x4d44, "vfat", 0 },
	{ 0x5346544e, "ntfs", 0 },    { 0xFF534D42, "cifs", 0 },    { 0x858458f6, "ramfs", 1 },
	{ 0x73717368, "squashfs", 0 }, { 0xF2F52010, "f2fs", 1 },
};

const char *fs_type_name(const char *path)
{
	struct statfs st;
	const char *name = "unknown";
	size_t i;

	if (statfs(path, &st) == 0)
		for (i = 0; i < sizeof(fs_names) / sizeof(fs_names[0]); i++)
			if ((unsigned long)st.f_type == fs_names[i].magic)
				name = fs_names[i].name;
	return name;
}

int fs_stamps_locally(int fd)
{
	struct statfs st;
	size_t i;
	int local = 0;

	if (fstatfs(fd, &st) == 0)
		for (i = 0; i < sizeof(fs_names) / sizeof(fs_names[0]); i++)
			local |= (unsigned long)st.f_type == fs_names[i].magic && fs_names[i].local;
	return local;
}

char *kernel_description(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return xstrdup("unknown");
	return xasprintf("%s %s %s", u.sysname, u.release, u.machine);
}

const char *default_cache_parent(void)
{
	const char *tmpdir = getenv("TMPDIR");

	if (access("/dev/shm", W_OK | X_OK) == 0 &&
	    !strcmp(fs_type_name("/dev/shm"), "tmpfs"))
		return "/dev/shm";
	return tmpdir && *tmpdir ? tmpdir : "/tmp";
}
