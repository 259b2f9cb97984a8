#pragma once
// SIGTERM / SIGINT handling for the long-running parts: the handler only
// sets a flag; each part's loop reads it, stops taking messages and drains.
#include <atomic>

namespace beacon {

void install_stop_signals();
bool stop_requested();
// For tests and for a part that decides to stop on its own.
void request_stop();

}  // namespace beacon
