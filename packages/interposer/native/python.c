/*
 * python.c: which folder listings Python's import system makes (DESIGN 2: listings narrowed by the
 * lister's own lookup rules). The import system and user code list folders with the same calls
 * (os.listdir, os.scandir -> opendir), so the call alone cannot tell them apart; Python can. In a
 * process that has Python's C API (the python3 binary exports it; so does libpython), the
 * constructor adds an audit hook (allowed before Py_Initialize; hooks survive runtime
 * initialisation). The hook sees "os.listdir" and "os.scandir" before the call, in the same thread,
 * with the GIL held, and looks at the calling frame's code: importlib's FileFinder
 * ("<frozen importlib._bootstrap_external>") or the site module ("<frozen site>", site.py). It
 * gives the next listing on that thread a role (PM_LISTED_PYTHON_*), which the reducer turns into
 * a listing rule (src/listing-roles.ts). Any other listing, user code's and glob's included, gets
 * no role: every entry counts.
 *
 * Every other audit event clears the role, so a role never outlives the call it was given for
 * (a listing that failed before its opendir, a C extension listing on its own).
 */
#include <string.h>
#include "interposer.h"

typedef struct py_object py_object;   /* PyObject, opaque: nothing here looks inside it */
typedef int (*py_audit_hook)(const char *event, py_object *args, void *data);

static py_object *(*py_get_frame)(void);                      /* PyEval_GetFrame: borrowed */
static py_object *(*py_frame_code)(py_object *);              /* PyFrame_GetCode: new (3.9+) */
static py_object *(*py_get_attr)(py_object *, const char *);  /* PyObject_GetAttrString: new */
static const char *(*py_utf8)(py_object *);                   /* PyUnicode_AsUTF8: borrowed */
static void (*py_dec_ref)(py_object *);                       /* Py_DecRef */
static void (*py_err_clear)(void);                            /* PyErr_Clear */

static __thread const char *t_listing_role __attribute__((tls_model("initial-exec")));

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && memcmp(s + n - m, tail, m) == 0;
}

/* The role of a listing made by code from `file` (a code object's co_filename), or NULL. */
static const char *role_of(const char *file) {
  if (!strcmp(file, "<frozen importlib._bootstrap_external>") || ends_with(file, "/importlib/_bootstrap_external.py"))
    return PM_LISTED_PYTHON_IMPORT;
  if (!strcmp(file, "<frozen site>") || ends_with(file, "/site.py")) return PM_LISTED_PYTHON_SITE;
  return NULL;
}

static int listing_hook(const char *event, py_object *args, void *data) {
  (void)args;
  (void)data;
  t_listing_role = NULL;
  if (strcmp(event, "os.listdir") != 0 && strcmp(event, "os.scandir") != 0) return 0;
  py_object *frame = py_get_frame();
  if (!frame) return 0;
  /* PyFrame_GetCode raises no audit event (frame.f_code does: object.__getattr__) */
  py_object *code = py_frame_code(frame);
  py_object *file = code ? py_get_attr(code, "co_filename") : NULL;
  const char *name = file ? py_utf8(file) : NULL;
  if (!name) py_err_clear();   /* no role: every entry counts */
  const char *role = name ? role_of(name) : NULL;
  if (file) py_dec_ref(file);
  if (code) py_dec_ref(code);
  t_listing_role = role;
  return 0;
}

void python_hook_init(void) {
  int (*add_hook)(py_audit_hook, void *) = (int (*)(py_audit_hook, void *))dlsym(RTLD_DEFAULT, "PySys_AddAuditHook");
  if (!add_hook) return;   /* not a Python process (nearly every process): one symbol lookup */
  py_get_frame = (py_object * (*)(void)) dlsym(RTLD_DEFAULT, "PyEval_GetFrame");
  py_frame_code = (py_object * (*)(py_object *)) dlsym(RTLD_DEFAULT, "PyFrame_GetCode");
  py_get_attr = (py_object * (*)(py_object *, const char *)) dlsym(RTLD_DEFAULT, "PyObject_GetAttrString");
  py_utf8 = (const char *(*)(py_object *))dlsym(RTLD_DEFAULT, "PyUnicode_AsUTF8");
  py_dec_ref = (void (*)(py_object *))dlsym(RTLD_DEFAULT, "Py_DecRef");
  py_err_clear = (void (*)(void))dlsym(RTLD_DEFAULT, "PyErr_Clear");
  if (!py_get_frame || !py_frame_code || !py_get_attr || !py_utf8 || !py_dec_ref || !py_err_clear) return;
  add_hook(listing_hook, NULL);
}

const char *take_listing_role(void) {
  const char *role = t_listing_role;
  t_listing_role = NULL;
  return role ? role : PM_ARG_NONE;
}
