#pragma once
// Child processes for integration tests: the real beacon binaries, started
// with their own environment, output captured to a file, stopped with the
// signal a test wants (SIGTERM to check draining, SIGKILL to crash them).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace beacon::test {

class Process {
 public:
  // argv[0] is a path; env entries are added to (and override) the parent's.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env, std::string log_path);
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code (128+N for a signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then wait; returns the exit code or nullopt.
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill();  // SIGKILL and reap
  std::string output() const;  // everything written so far to stdout+stderr
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Runs a command to completion; returns exit code and its stdout.
struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};
// The whole file ("" when it cannot be read).
std::string read_text(const std::string& path);

RunResult run(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace beacon::test
