#pragma once
// SIGHUP: re-read the endpoint file (its limits) without a restart. The
// handler only sets a flag; the worker's owner loop takes it.
namespace beacon {

void install_reload_signal();
// True once per SIGHUP received since the last call.
bool take_reload_request();

}  // namespace beacon
