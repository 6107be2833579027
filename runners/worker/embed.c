/*
 * What the worker and the classifier share about the embedded interpreter:
 * exception text exactly as the traceback's last line shows it, and
 * unmarshalling a pyc body the way importlib's _compile_bytecode does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include "embed.h"
#include "pyc.h"

#include <stdio.h>
#include <string.h>

#ifndef PYTHON_EXE
#define PYTHON_EXE "python3"
#endif

int embed_start(char *why, size_t whylen)
{
	PyConfig config;
	PyStatus status;
	int rc = -1;

	PyConfig_InitIsolatedConfig(&config);
	/* The environment may say PYTHONDONTWRITEBYTECODE=1; the isolated
	 * config ignores it, and we say what we want explicitly. */
	config.write_bytecode = 1;
	config.site_import = 0;
	config.install_signal_handlers = 0;
	/* Finding the standard library from the interpreter we were built
	 * against keeps the embedded Python the same as that binary. */
	status = PyConfig_SetBytesString(&config, &config.program_name, PYTHON_EXE);
	if (PyStatus_Exception(status))
		goto fail;
	status = Py_InitializeFromConfig(&config);
	if (PyStatus_Exception(status))
		goto fail;
	rc = 0;
	goto out;
fail:
	(void)snprintf(why, whylen, "cannot start the embedded interpreter: %s%s%s",
		       status.func ? status.func : "", status.func ? ": " : "",
		       status.err_msg ? status.err_msg : "unknown error");
out:
	PyConfig_Clear(&config);
	return rc;
}

/* "EOFError: marshal data too short": the last line of the traceback. */
void embed_fetch_exception(char *buf, size_t size)
{
	PyObject *type, *value, *tb, *text = NULL;
	const char *msg = NULL;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (value)
		text = PyObject_Str(value);
	if (text)
		msg = PyUnicode_AsUTF8(text);
	if (msg && *msg)
		(void)snprintf(buf, size, "%s: %s",
			       type ? ((PyTypeObject *)type)->tp_name : "?", msg);
	else
		(void)snprintf(buf, size, "%s",
			       type ? ((PyTypeObject *)type)->tp_name : "?");
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	PyErr_Clear();
}

static enum outcome classify_exception(char *text, size_t size)
{
	enum outcome outcome = OUTCOME_OTHER_ERROR;

	if (PyErr_ExceptionMatches(PyExc_EOFError))
		outcome = OUTCOME_EOF;
	embed_fetch_exception(text, size);
	if (outcome != OUTCOME_EOF && strncmp(text, "ValueError: bad marshal data", 28) == 0)
		outcome = OUTCOME_BAD_MARSHAL;
	return outcome;
}

/* Unmarshal the body as importlib's _compile_bytecode does. */
enum outcome embed_unmarshal(const uint8_t *data, size_t len, const char *path,
			      char *error, size_t size)
{
	PyObject *obj;
	enum outcome outcome = OUTCOME_OK;

	obj = PyMarshal_ReadObjectFromString((const char *)data + PYC_HEADER_SIZE,
					     (Py_ssize_t)(len - PYC_HEADER_SIZE));
	if (!obj)
		outcome = classify_exception(error, size);
	else if (!PyCode_Check(obj)) {
		(void)snprintf(error, size, "ImportError: Non-code object in '%s'", path);
		outcome = OUTCOME_OTHER_ERROR;
	}
	Py_XDECREF(obj);
	return outcome;
}

