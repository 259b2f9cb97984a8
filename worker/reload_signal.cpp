#include "reload_signal.hpp"

#include <csignal>

namespace beacon {
namespace {
volatile std::sig_atomic_t g_reload = 0;
extern "C" void on_reload_signal(int) { g_reload = 1; }
}  // namespace

void install_reload_signal() {
  struct sigaction sa {};
  sa.sa_handler = on_reload_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() {
  if (g_reload == 0) return false;
  g_reload = 0;
  return true;
}

}  // namespace beacon
