/*
 * merge-wait: the ordering that fixed Gentoo bug 663324: a merge holds an
 * exclusive lock for its whole length and builds (importers) take it shared,
 * so no import ever sees a package half merged. A package workload.
 */
#include "strategy.h"

const struct strategy_info strategy_merge_wait = {
	.name = "merge-wait",
	.summary = "merges and imports serialised by a lock: no half-merged package is seen",
	.source = "portage merge-wait (FEATURES=merge-wait, bug 663324)",
	.write = NULL,
	.workload = "package",
};
