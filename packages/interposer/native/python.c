/*
 * python.c: what Python's import system looks for in the folders it lists (DESIGN 2: listings
 * narrowed by the lister's own lookup rules). The import system and user code list folders with the
 * same calls (os.listdir, os.scandir -> opendir), so the call alone cannot tell them apart; Python
 * can. In a process that has Python's C API (the python3 binary exports it; so does libpython), the
 * constructor adds an audit hook (allowed before Py_Initialize; hooks survive runtime
 * initialisation). The hook sees "os.listdir" and "os.scandir" before the call, in the same thread,
 * with the GIL held, and looks at the calling frame's code: importlib's FileFinder
 * ("<frozen importlib._bootstrap_external>") or the site module ("<frozen site>", site.py). It gives
 * the next listing on that thread a role (PM_LISTED_PYTHON_*, the record's ARG), which the reducer
 * turns into a listing rule (src/listing-roles.ts). Any other listing, user code's and glob's
 * included, gets no role: every entry counts. Every other audit event clears the role, so a role
 * never outlives the call it was given for.
 *
 * The names looked up. FileFinder lists a folder once and then answers every import from that
 * listing, so the names that matter in the folder are the ones imports look for there. At the
 * import system's first listing, the hook wraps FileFinder.find_spec (a few lines of Python run
 * with the C API) so that each lookup raises an audit event of ours, written as a PM_LOOKED_UP
 * record (folder/name). Listings made from then on get the role PM_LISTED_PYTHON_LOOKUPS: only
 * entries named after a name looked up there count, so a new script beside others reruns only the
 * steps that import it. Listings before it (or if the wrapping fails) keep PM_LISTED_PYTHON_IMPORT:
 * every importable name counts.
 */
#include <string.h>
#include "interposer.h"

typedef struct py_object py_object;   /* PyObject, opaque: nothing here looks inside it */
typedef int (*py_audit_hook)(const char *event, py_object *args, void *data);

/* Every function is looked up by name: this library links against no Python. */
static struct {
  py_object *(*get_frame)(void);                                   /* PyEval_GetFrame: borrowed */
  py_object *(*frame_code)(py_object *);                           /* PyFrame_GetCode: new (3.9+) */
  py_object *(*get_attr)(py_object *, const char *);               /* PyObject_GetAttrString: new */
  const char *(*utf8)(py_object *);                                /* PyUnicode_AsUTF8: borrowed */
  void (*dec_ref)(py_object *);                                    /* Py_DecRef */
  void (*err_clear)(void);                                         /* PyErr_Clear */
  py_object *(*tuple_item)(py_object *, long);                     /* PyTuple_GetItem: borrowed */
  py_object *(*dict_new)(void);                                    /* PyDict_New: new */
  int (*dict_set)(py_object *, const char *, py_object *);         /* PyDict_SetItemString */
  py_object *(*builtins)(void);                                    /* PyEval_GetBuiltins: borrowed */
  py_object *(*run)(const char *, int, py_object *, py_object *, void *);  /* PyRun_StringFlags: new */
} py;

#define PY_FILE_INPUT 257   /* Py_file_input */
#define LOOKUP_EVENT "prov_make.import_lookup"
#define WRAPPED_EVENT "prov_make.import_lookups_reported"

/* FileFinder.find_spec, wrapped: each lookup (its folder, the last part of the name) is an event. */
static const char WRAP_FIND_SPEC[] =
  "import sys\n"
  "bx = sys.modules['_frozen_importlib_external']\n"
  "original = bx.FileFinder.find_spec\n"
  "def find_spec(self, fullname, target=None, _find=original, _audit=sys.audit):\n"
  "    _audit('" LOOKUP_EVENT "', self.path, fullname.rpartition('.')[2])\n"
  "    return _find(self, fullname, target)\n"
  "find_spec.__wrapped__ = original\n"
  "bx.FileFinder.find_spec = find_spec\n"
  "sys.audit('" WRAPPED_EVENT "')\n";

static __thread const char *t_listing_role __attribute__((tls_model("initial-exec")));
/* 0: not tried; 1: being wrapped (its own events must not try again); 2: lookups reported; 3: failed */
static int g_lookups;

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && memcmp(s + n - m, tail, m) == 0;
}

/* The role of a listing made by code from `file` (a code object's co_filename), or NULL. */
static const char *role_of(const char *file) {
  if (!strcmp(file, "<frozen importlib._bootstrap_external>") || ends_with(file, "/importlib/_bootstrap_external.py"))
    return g_lookups == 2 ? PM_LISTED_PYTHON_LOOKUPS : PM_LISTED_PYTHON_IMPORT;
  if (!strcmp(file, "<frozen site>") || ends_with(file, "/site.py")) return PM_LISTED_PYTHON_SITE;
  return NULL;
}

/* The co_filename of the code calling os.listdir (NULL: unknown; then no role). */
static const char *role_of_caller(void) {
  py_object *frame = py.get_frame();
  if (!frame) return NULL;
  /* PyFrame_GetCode raises no audit event (frame.f_code does: object.__getattr__) */
  py_object *code = py.frame_code(frame);
  py_object *file = code ? py.get_attr(code, "co_filename") : NULL;
  const char *name = file ? py.utf8(file) : NULL;
  if (!name) py.err_clear();
  const char *role = name ? role_of(name) : NULL;
  if (file) py.dec_ref(file);
  if (code) py.dec_ref(code);
  return role;
}

/* Runs WRAP_FIND_SPEC in a dictionary of its own (nothing of the program's is touched). */
static void wrap_find_spec(void) {
  g_lookups = 1;
  py_object *globals = py.dict_new();
  py_object *result = NULL;
  if (globals && py.dict_set(globals, "__builtins__", py.builtins()) == 0) result = py.run(WRAP_FIND_SPEC, PY_FILE_INPUT, globals, globals, NULL);
  if (!result) py.err_clear();
  if (result) py.dec_ref(result);
  if (globals) py.dec_ref(globals);
  if (g_lookups != 2) g_lookups = 3;
}

/* A lookup: folder/name as a PM_LOOKED_UP record. */
static void record_lookup_name(py_object *args) {
  py_object *folder = py.tuple_item(args, 0), *name = py.tuple_item(args, 1);
  const char *f = folder ? py.utf8(folder) : NULL, *n = name ? py.utf8(name) : NULL;
  if (!f || !n) {
    py.err_clear();
    return;
  }
  size_t lf = strlen(f), ln = strlen(n);
  char path[PM_PATH_MAX];
  if (lf + ln + 2 > sizeof path || !ln || strchr(n, '/')) return;
  memcpy(path, lf ? f : ".", lf ? lf : 1);
  size_t at = lf ? lf : 1;
  path[at++] = '/';
  memcpy(path + at, n, ln + 1);
  ENTER();
  record_at(PM_LOOKED_UP, PM_ARG_NONE, AT_FDCWD, path);
  LEAVE();
}

static int listing_hook(const char *event, py_object *args, void *data) {
  (void)data;
  t_listing_role = NULL;
  if (!g_enabled || t_in_hook) return 0;
  if (event[0] == 'p' && !strcmp(event, LOOKUP_EVENT)) record_lookup_name(args);
  else if (event[0] == 'p' && !strcmp(event, WRAPPED_EVENT)) g_lookups = 2;
  if (strcmp(event, "os.listdir") != 0 && strcmp(event, "os.scandir") != 0) return 0;
  const char *role = role_of_caller();
  /* the import system is running: wrap its lookups for the listings to come (not this one) */
  if (role && role[0] == PM_LISTED_PYTHON_IMPORT[0] && g_lookups == 0) wrap_find_spec();
  t_listing_role = role;
  return 0;
}

void python_hook_init(void) {
  int (*add_hook)(py_audit_hook, void *) = (int (*)(py_audit_hook, void *))dlsym(RTLD_DEFAULT, "PySys_AddAuditHook");
  if (!add_hook) return;   /* not a Python process (nearly every process): one symbol lookup */
#define FIND(field, symbol) if (!(py.field = (__typeof__(py.field))dlsym(RTLD_DEFAULT, symbol))) return
  FIND(get_frame, "PyEval_GetFrame");
  FIND(frame_code, "PyFrame_GetCode");
  FIND(get_attr, "PyObject_GetAttrString");
  FIND(utf8, "PyUnicode_AsUTF8");
  FIND(dec_ref, "Py_DecRef");
  FIND(err_clear, "PyErr_Clear");
  FIND(tuple_item, "PyTuple_GetItem");
  FIND(dict_new, "PyDict_New");
  FIND(dict_set, "PyDict_SetItemString");
  FIND(builtins, "PyEval_GetBuiltins");
  FIND(run, "PyRun_StringFlags");
#undef FIND
  add_hook(listing_hook, NULL);
}

const char *take_listing_role(void) {
  const char *role = t_listing_role;
  t_listing_role = NULL;
  return role ? role : PM_ARG_NONE;
}
