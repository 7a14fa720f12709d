#pragma once
namespace dslmodel::app { int run_cli(int argc, char** argv); }
