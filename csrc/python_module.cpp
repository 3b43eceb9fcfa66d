// Lets `import torch_render._C` load the library (which registers the ops in its
// static initialisers) without pybind11 or any Python API use.
#include <Python.h>

extern "C" {
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C",  // name
      NULL,  // no docstring
      -1,    // no per-interpreter state
      NULL,  // no methods
  };
  return PyModule_Create(&module_def);
}
}
