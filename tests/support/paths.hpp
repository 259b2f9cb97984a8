#pragma once
// Where the tests find the source tree (migrations, specs) and the build tree
// (the programs): $BEACON_SOURCE_DIR / $BEACON_BUILD_DIR when set (scripts/test.sh
// sets both), else the folders CMake configured. The configured paths are
// compiled into paths.cpp alone, so every other test object is the same in
// every checkout (compiler caches share them between worktrees).
#include <string>

namespace beacon::test {

std::string source_dir();
std::string build_dir();

}  // namespace beacon::test
