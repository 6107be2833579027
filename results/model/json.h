/*
 * A small, strict JSON reader for the files pycstorm reads back
 * (summary.json, hyperfine.json). It parses a whole document into a tree
 * and then only answers questions about it.
 *
 * Strict means RFC 8259 and nothing more: no comments, no trailing commas,
 * no NaN or Infinity, no byte order mark, UTF-8 checked (no overlongs, no
 * lone surrogates), no "\u0000", no duplicate keys in one object.
 *
 * Bounded means a hostile file cannot make it use memory out of proportion:
 * the input is at most JSON_MAX_INPUT bytes, at most JSON_MAX_VALUES values,
 * nested at most JSON_MAX_DEPTH deep; decoded strings never take more room
 * than their quoted form. It never reads outside the buffer it is given.
 *
 * Errors are one line: "NAME: line L column C: problem" (columns count
 * characters, from 1).
 */
#ifndef PYCSTORM_JSON_H
#define PYCSTORM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_INPUT (16u << 20)
#define JSON_MAX_VALUES (1u << 20)
#define JSON_MAX_DEPTH 64

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	unsigned line, column;        /* where the value starts */
	const char *key;              /* the member's name inside an object */
	const char *text;             /* a string (decoded, NUL-terminated) or
				       * a number's literal (not terminated) */
	size_t length;                /* bytes in text */
	size_t count;                 /* items of an array, members of an object */
	int boolean;
	const struct json *first;     /* first item or member */
	const struct json *next;      /* the next item or member of the parent */
};

struct json_doc;

/*
 * Parse len bytes of text (which need not be NUL-terminated); name is the
 * file name used in messages. 0, or -1 with the message in err.
 */
int json_parse(const char *name, const char *text, size_t len, struct json_doc **doc,
	       char *err, size_t errlen);
/* The same for a file, read as read_file does (a regular file only, so a
 * FIFO or a device is refused before a byte is read). */
int json_parse_file(const char *path, struct json_doc **doc, char *err, size_t errlen);
const struct json *json_root(const struct json_doc *doc);
void json_free(struct json_doc *doc);

/* The member called key of an object; NULL when absent or not an object. */
const struct json *json_get(const struct json *object, const char *key);
/* A string's text, or NULL when v is not a string. */
const char *json_string(const struct json *v);
/* A whole number from 0 to UINT64_MAX written without fraction or
 * exponent: 0, or -1 for anything else. */
int json_u64(const struct json *v, uint64_t *out);
/* Any number that fits a double: 0, or -1. */
int json_double(const struct json *v, double *out);
/* "a string", "an object"...: for messages. */
const char *json_type_name(enum json_type type);

#endif
