/*
 * One way to declare and define a registry of plugins (strategies, faults,
 * formats, commands): each plugin is a file exporting `const struct TYPE
 * PREFIX_ID`, and one X-macro list names them all. From that list these
 * macros make PREFIX_table, PREFIX_count and PREFIX_find, so a registry is
 * the list and a few lines, never a hand-kept parallel table.
 */
#ifndef PYCSTORM_REGISTRY_H
#define PYCSTORM_REGISTRY_H

#include <stddef.h>
#include <string.h>

/* In the header, after the plugins' externs: the table, its size and the
 * lookup by name. */
#define REGISTRY_DECLARE(type, prefix)                                       \
	extern const struct type *const prefix##_table[];                    \
	extern const size_t prefix##_count;                                  \
	const struct type *prefix##_find(const char *name);

/* In one .c file, given the entries (&plugin, ...) in list order. */
#define REGISTRY_DEFINE(type, prefix, ...)                                   \
	const struct type *const prefix##_table[] = { __VA_ARGS__ };         \
	const size_t prefix##_count = sizeof(prefix##_table) / sizeof(prefix##_table[0]); \
	const struct type *prefix##_find(const char *name)                   \
	{                                                                    \
		return (const struct type *)registry_find(                   \
			(const void *const *)prefix##_table, prefix##_count, \
			offsetof(struct type, name), name);                  \
	}

/* The entry of table whose char * at name_offset equals name, or NULL. */
static inline const void *registry_find(const void *const *table, size_t count,
					size_t name_offset, const char *name)
{
	const void *found = NULL;
	size_t i;

	for (i = 0; i < count && !found; i++)
		if (strcmp(*(const char *const *)((const char *)table[i] + name_offset), name) == 0)
			found = table[i];
	return found;
}

#endif
