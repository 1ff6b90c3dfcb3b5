// Compiled as part of the `models` layer (tests/CMakeLists.txt, test
// layering.upward_include_fails): `explain` sits above `models`, so this
// include must not be found and the compile must fail.
#include "explain/explainer.hpp"
#include "models/baseline.hpp"

int miradaLayeringProbe() { return 0; }
