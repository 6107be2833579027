/*
 * merge-direct: how emerge merged a package while other jobs built: the
 * package's metadata (its entry point) lands first, then its files one at a
 * time, and an uninstall removes them one at a time, while importers resolve
 * the entry point and import whatever is there (Gentoo bug 663324). A
 * package workload (cache = package); the driver carries it out.
 */
#include "strategy.h"

const struct strategy_info strategy_merge_direct = {
	.name = "merge-direct",
	.summary = "package files merged one by one while importers resolve its entry point",
	.source = "portage emerge --jobs before merge-wait (Gentoo bug 663324)",
	.write = NULL,
	.workload = "package",
};
