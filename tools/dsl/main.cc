// dsl: parses flags and dispatches; everything else lives in src/app.
#include "app/cli.h"

int main(int argc, char** argv) { return dslmodel::app::run_cli(argc, argv); }
