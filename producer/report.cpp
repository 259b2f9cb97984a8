#include <cstdio>

#include "commands.hpp"

namespace beacon::producer {

int report(int, char**) {
  std::fprintf(stderr, "beacon-producer report: not available yet (issue 5)\n");
  return kExitBadInput;
}

}  // namespace beacon::producer
