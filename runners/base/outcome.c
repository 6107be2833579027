/* Names of outcome classes and operations, from the lists in outcome.h. */
#include "outcome.h"

#include <string.h>

static const char *const outcome_names[] = {
#define X(id, name) name,
	OUTCOME_LIST(X)
#undef X
};

static const char *const op_names[] = {
#define X(id, name) name,
	OP_LIST(X)
#undef X
};

const char *outcome_name(enum outcome o)
{
	return (unsigned)o < OUTCOME_COUNT ? outcome_names[o] : "?";
}

const char *op_name(enum op o)
{
	return (unsigned)o < OP_COUNT ? op_names[o] : "?";
}

static int find(const char *const *names, int count, const char *name)
{
	int i, found = -1;

	for (i = 0; i < count && found < 0; i++)
		if (strcmp(names[i], name) == 0)
			found = i;
	return found;
}

int outcome_from_name(const char *name)
{
	return find(outcome_names, OUTCOME_COUNT, name);
}

int op_from_name(const char *name)
{
	return find(op_names, OP_COUNT, name);
}
